import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import client from 'prom-client';
import { ErrorCode } from './errors';
import type { Logger } from '../infra/logger';
import { setExtraPiiPatterns } from '../infra/logger';
import { createRedis, type Redis, type RedisTarget } from '../infra/redis';

/**
 * Platform controls (the ops plane): one Redis hash `ops:settings` under the deployment prefix,
 * one field per setting (per service where it concerns one), so two admins changing different
 * settings never overwrite each other. Every change is published on `{prefix}ops:changed`; every
 * process (gateway and subgraphs) re-reads the hash on each message and every few seconds as a
 * fallback, and applies what concerns it. Settings survive restarts (they live in Redis).
 */
export const OPS_SETTINGS_KEY = 'ops:settings';
export const opsChangedChannel = (prefix: string) => `${prefix}ops:changed`;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface BreakerSettings {
  enabled: boolean;
  /** Failures within the rolling window (10 s) that open the breaker. */
  failureThreshold: number;
  /** How long the breaker stays open before one probe request is let through (half-open). */
  resetTimeoutSeconds: number;
}

export interface Expiring<T> {
  value: T;
  /** Epoch ms after which the setting no longer applies; null = until changed. */
  until: number | null;
}

export interface OpsSettings {
  maintenance: { enabled: boolean; message: string };
  rateLimit: { requestsPerMinute: number; burst: number };
  emergencyThrottle: { enabled: boolean; requestsPerMinute: number };
  /** Per subgraph; a subgraph without an entry uses `DEFAULT_BREAKER`. */
  circuitBreakers: Record<string, BreakerSettings>;
  readOnly: string[];
  logLevels: Record<string, Expiring<string>>;
  securityHeaders: Array<{ name: string; value: string }>;
  piiPatterns: string[];
  traceSampling: Record<string, Expiring<number>>;
  updatedAt: string | null;
}

export const DEFAULT_BREAKER: BreakerSettings = { enabled: true, failureThreshold: 5, resetTimeoutSeconds: 10 };
export const DEFAULT_MAINTENANCE_MESSAGE = 'The service is down for maintenance and will be back shortly';

/** Defaults of a deployment where no admin changed anything (rate limit from the gateway's env). */
export function defaultOpsSettings(rateLimit = { requestsPerMinute: 1200, burst: 300 }): OpsSettings {
  return {
    maintenance: { enabled: false, message: DEFAULT_MAINTENANCE_MESSAGE },
    rateLimit,
    emergencyThrottle: { enabled: false, requestsPerMinute: 6000 },
    circuitBreakers: {},
    readOnly: [],
    logLevels: {},
    securityHeaders: [],
    piiPatterns: [],
    traceSampling: {},
    updatedAt: null,
  };
}

/** Hash field names. */
export const OpsField = {
  maintenance: 'maintenance',
  rateLimit: 'rateLimit',
  emergencyThrottle: 'emergencyThrottle',
  securityHeaders: 'securityHeaders',
  piiPatterns: 'piiPatterns',
  updatedAt: 'updatedAt',
  breaker: (service: string) => `breaker:${service}`,
  readOnly: (service: string) => `readOnly:${service}`,
  logLevel: (service: string) => `logLevel:${service}`,
  sampling: (service: string) => `sampling:${service}`,
} as const;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Builds the settings from the hash (unknown or malformed fields are ignored). */
export function settingsFromHash(hash: Record<string, string>, defaults: OpsSettings): OpsSettings {
  const s: OpsSettings = structuredClone(defaults);
  for (const [field, raw] of Object.entries(hash)) {
    const v = parseJson(raw) as never;
    if (v === undefined) continue;
    const [kind, service] = field.split(/:(.*)/s) as [string, string | undefined];
    if (field === OpsField.maintenance) s.maintenance = { ...s.maintenance, ...(v as object) };
    else if (field === OpsField.rateLimit) s.rateLimit = v;
    else if (field === OpsField.emergencyThrottle) s.emergencyThrottle = v;
    else if (field === OpsField.securityHeaders && Array.isArray(v)) s.securityHeaders = v;
    else if (field === OpsField.piiPatterns && Array.isArray(v)) s.piiPatterns = v;
    else if (field === OpsField.updatedAt) s.updatedAt = v;
    else if (service && kind === 'breaker') s.circuitBreakers[service] = v;
    else if (service && kind === 'readOnly' && v === true) s.readOnly.push(service);
    else if (service && kind === 'logLevel') s.logLevels[service] = v;
    else if (service && kind === 'sampling') s.traceSampling[service] = v;
  }
  s.readOnly.sort();
  return s;
}

/** An expiring setting's value now, or undefined when there is none or it has expired. */
export function activeValue<T>(entry: Expiring<T> | undefined, now = Date.now()): T | undefined {
  if (!entry) return undefined;
  return entry.until === null || entry.until > now ? entry.value : undefined;
}

export interface OpsSettingsClientOptions {
  redis: Redis;
  /** Where Redis is, for the subscriber connection of its own. */
  redisTarget: RedisTarget;
  prefix: string;
  log: Logger;
  defaults?: OpsSettings;
  /** Fallback re-read interval (a missed pub/sub message is picked up by then). */
  pollMs?: number;
  /**
   * Where to publish `ops_settings_updated_at_seconds`: when the settings this process applies were
   * last changed (0: defaults). Every process showing the time of the last change means the change
   * is in force everywhere.
   */
  registry?: client.Registry;
}

/**
 * Reads the ops settings, keeps them current (pub/sub on a dedicated connection + periodic
 * re-read), and writes them (admin mutations, through the gateway's ops subgraph).
 */
export class OpsSettingsClient {
  private settings: OpsSettings;
  private readonly listeners: Array<(s: OpsSettings) => void> = [];
  private sub: Redis | null = null;
  private timer: NodeJS.Timeout | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private readonly defaults: OpsSettings;

  constructor(private readonly opts: OpsSettingsClientOptions) {
    this.defaults = opts.defaults ?? defaultOpsSettings();
    this.settings = structuredClone(this.defaults);
    if (opts.registry) {
      const gauge = new client.Gauge({
        name: 'ops_settings_updated_at_seconds',
        help: 'When the ops settings this process applies were last changed (epoch seconds; 0 = defaults)',
        registers: [opts.registry],
      });
      gauge.set(0);
      this.listeners.push((s) => gauge.set(s.updatedAt ? Date.parse(s.updatedAt) / 1000 : 0));
    }
  }

  current(): OpsSettings {
    return this.settings;
  }

  /** Called with the settings now and after every change (and when an expiring setting lapses). */
  onChange(listener: (s: OpsSettings) => void): void {
    this.listeners.push(listener);
    listener(this.settings);
  }

  /** Loads once, then follows changes. Never throws: without Redis the defaults apply until it is back. */
  async start(): Promise<void> {
    const channel = opsChangedChannel(this.opts.prefix);
    // a subscriber connection can run nothing else, so it is its own (no key prefix needed)
    this.sub = createRedis(this.opts.redisTarget, '', this.opts.log, 'ops-settings');
    this.sub.on('message', (ch: string) => {
      if (ch === channel) void this.refresh();
    });
    // (re)subscribe on every connect: ioredis does it by itself after a reconnect, this covers the first
    this.sub.on('ready', () => void this.sub?.subscribe(channel).catch(() => undefined));
    this.timer = setInterval(() => void this.refresh(), this.opts.pollMs ?? 5000);
    this.timer.unref();
    await this.refresh();
  }

  async refresh(): Promise<OpsSettings> {
    try {
      const hash = await this.opts.redis.hgetall(OPS_SETTINGS_KEY);
      this.apply(settingsFromHash(hash, this.defaults));
    } catch (err) {
      this.opts.log.debug({ err: (err as Error).message }, 'ops settings not read; keeping the last ones');
    }
    return this.settings;
  }

  private apply(next: OpsSettings): void {
    const changed = JSON.stringify(next) !== JSON.stringify(this.settings);
    this.settings = next;
    this.scheduleExpiry();
    if (changed) for (const l of this.listeners) this.safely(l);
  }

  private safely(l: (s: OpsSettings) => void): void {
    try {
      l(this.settings);
    } catch (err) {
      this.opts.log.error({ err }, 'applying ops settings failed');
    }
  }

  /** Expiring settings (log level, sampling) revert at their time even without a change message. */
  private scheduleExpiry(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    const now = Date.now();
    const untils = [...Object.values(this.settings.logLevels), ...Object.values(this.settings.traceSampling)]
      .map((e) => e.until)
      .filter((u): u is number => u !== null && u > now);
    if (untils.length === 0) return;
    const wait = Math.min(Math.min(...untils) - now + 5, 2 ** 31 - 1);
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = null;
      for (const l of this.listeners) this.safely(l);
    }, wait);
    this.expiryTimer.unref();
  }

  /** Sets (or with `null` removes) one field, then tells every process. Returns the new settings. */
  async write(fields: Record<string, unknown>): Promise<OpsSettings> {
    const tx = this.opts.redis.multi();
    for (const [field, value] of Object.entries(fields)) {
      if (value === null) tx.hdel(OPS_SETTINGS_KEY, field);
      else tx.hset(OPS_SETTINGS_KEY, field, JSON.stringify(value));
    }
    tx.hset(OPS_SETTINGS_KEY, OpsField.updatedAt, JSON.stringify(new Date().toISOString()));
    await tx.exec();
    await this.publish();
    return this.refresh();
  }

  /** Removes every field whose name starts with `kind:` (e.g. every log level). */
  async clear(kind: string): Promise<OpsSettings> {
    const fields = Object.keys(await this.opts.redis.hgetall(OPS_SETTINGS_KEY)).filter((f) => f.startsWith(`${kind}:`));
    return this.write(Object.fromEntries(fields.map((f) => [f, null])));
  }

  private async publish(): Promise<void> {
    await this.opts.redis.publish(opsChangedChannel(this.opts.prefix), String(Date.now()));
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.timer = this.expiryTimer = null;
    const sub = this.sub;
    this.sub = null;
    if (sub) await sub.quit().catch(() => sub.disconnect());
  }
}

/**
 * What every process applies for itself: its log level (the configured one unless an unexpired
 * override exists) and the extra PII patterns of its logger.
 */
export function applyProcessSettings(service: string, baseLevel: string, log: Logger) {
  let lastPii = '';
  return (s: OpsSettings): void => {
    const level = activeValue(s.logLevels[service]) ?? activeValue(s.logLevels['*']) ?? baseLevel;
    if (log.level !== level) {
      log.level = level;
      log.info({ level }, 'log level changed');
    }
    const pii = JSON.stringify(s.piiPatterns);
    if (pii !== lastPii) {
      try {
        setExtraPiiPatterns(s.piiPatterns);
        lastPii = pii;
      } catch (err) {
        log.error({ err }, 'bad PII pattern in ops settings; keeping the previous ones');
      }
    }
  };
}

/** The trace sampling rate of a service now (an unexpired override, else the default). */
export function samplingRate(s: OpsSettings, service: string, fallback: number): number {
  return activeValue(s.traceSampling[service]) ?? activeValue(s.traceSampling['*']) ?? fallback;
}

/**
 * Read-only mode (`setReadOnlyMode`): while this service is read-only, every mutation sent to it
 * is refused with SYS-002 before any resolver runs; queries (incl. `_entities`) are served.
 */
export function readOnlyPlugin(service: string, settings: () => OpsSettings): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation }) {
          if (operation?.operation === 'mutation' && settings().readOnly.includes(service)) {
            throw new GraphQLError(`The ${service} service is read-only for now; reads still work`, {
              // an ordinary GraphQL error (HTTP 200), so the gateway passes it on for the mutation's fields
              extensions: { code: ErrorCode.ServiceUnavailable, service, http: { status: 200 } },
            });
          }
        },
      };
    },
  };
}
