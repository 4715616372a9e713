import {
  activeValue,
  DEFAULT_BREAKER,
  invalidInput,
  LOG_LEVELS,
  OpsField,
  type OpsSettings,
  type OpsSettingsClient,
} from '@tm/kit/contracts';
import { piiPatternProblem } from '@tm/kit/infra';
import type { RateLimits } from '../limits/rate-limit';
import type { SubgraphBreakers } from '../limits/breakers';

/** Response headers an admin may set (security headers; nothing that changes how HTTP is framed). */
export const ALLOWED_HEADERS = new Set([
  'strict-transport-security',
  'content-security-policy',
  'content-security-policy-report-only',
  'x-frame-options',
  'x-content-type-options',
  'referrer-policy',
  'permissions-policy',
  'cross-origin-opener-policy',
  'cross-origin-embedder-policy',
  'cross-origin-resource-policy',
  'x-permitted-cross-domain-policies',
  'x-dns-prefetch-control',
  'cache-control',
]);
const MAX_DURATION_MINUTES = 7 * 24 * 60;
const DEFAULT_DURATION_MINUTES = 60;

export interface OpsSettingsView {
  maintenance: { enabled: boolean; message: string };
  rateLimit: { requestsPerMinute: number; burst: number };
  emergencyThrottle: { enabled: boolean; requestsPerMinute: number };
  circuitBreakers: Array<{
    service: string;
    enabled: boolean;
    failureThreshold: number;
    resetTimeoutSeconds: number;
    state: string;
  }>;
  readOnlyServices: string[];
  logLevels: Array<{ service: string; level: string; until: Date | null }>;
  securityHeaders: Array<{ name: string; value: string }>;
  piiPatterns: string[];
  traceSampling: Array<{ service: string; rate: number; until: Date | null }>;
  updatedAt: Date | null;
}

function intIn(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max)
    throw invalidInput(field, `must be an integer from ${min} to ${max}`);
  return value;
}

function untilOf(durationMinutes: number | null | undefined): number {
  const minutes = intIn('durationMinutes', durationMinutes ?? DEFAULT_DURATION_MINUTES, 1, MAX_DURATION_MINUTES);
  return Date.now() + minutes * 60_000;
}

/** Reads and changes the platform controls (validation here; storage and fan-out in the kit's client). */
export class SettingsService {
  constructor(
    private readonly client: OpsSettingsClient,
    private readonly rateLimits: RateLimits,
    private readonly breakers: SubgraphBreakers,
    /** Subgraphs served over HTTP (breakers, read-only mode). */
    private readonly subgraphs: () => string[],
  ) {}

  current(): OpsSettings {
    return this.client.current();
  }

  async view(): Promise<OpsSettingsView> {
    return this.toView(await this.client.refresh());
  }

  toView(s: OpsSettings): OpsSettingsView {
    const now = Date.now();
    const expiring = <T>(m: Record<string, { value: T; until: number | null }>) =>
      Object.entries(m)
        .filter(([, e]) => activeValue(e, now) !== undefined)
        .map(([service, e]) => ({ service, value: e.value, until: e.until === null ? null : new Date(e.until) }))
        .sort((a, b) => a.service.localeCompare(b.service));
    return {
      maintenance: s.maintenance,
      rateLimit: s.rateLimit,
      emergencyThrottle: s.emergencyThrottle,
      circuitBreakers: this.subgraphs().map((service) => ({
        service,
        ...(s.circuitBreakers[service] ?? DEFAULT_BREAKER),
        state: this.breakers.state(service),
      })),
      readOnlyServices: s.readOnly,
      logLevels: expiring(s.logLevels).map(({ service, value, until }) => ({ service, level: value, until })),
      securityHeaders: s.securityHeaders,
      piiPatterns: s.piiPatterns,
      traceSampling: expiring(s.traceSampling).map(({ service, value, until }) => ({ service, rate: value, until })),
      updatedAt: s.updatedAt ? new Date(s.updatedAt) : null,
    };
  }

  private subgraph(service: string): string {
    if (!this.subgraphs().includes(service))
      throw invalidInput('service', `unknown subgraph; one of ${this.subgraphs().join(', ')}`);
    return service;
  }

  /** Any service's process: a subgraph, `gateway`, or `*` for all of them. */
  private anyService(service: string): string {
    if (service === 'gateway' || service === '*') return service;
    if (!this.subgraphs().includes(service))
      throw invalidInput('service', `unknown service; one of gateway, ${this.subgraphs().join(', ')} or *`);
    return service;
  }

  private async write(fields: Record<string, unknown>): Promise<OpsSettingsView> {
    return this.toView(await this.client.write(fields));
  }

  setMaintenanceMode(enabled: boolean, message: string | null | undefined): Promise<OpsSettingsView> {
    const text = message?.trim() || this.current().maintenance.message;
    if (text.length > 500 || [...text].some((c) => c.charCodeAt(0) < 0x20))
      throw invalidInput('message', 'at most 500 characters, no control characters');
    return this.write({ [OpsField.maintenance]: { enabled, message: text } });
  }

  setRateLimit(requestsPerMinute: number, burst: number): Promise<OpsSettingsView> {
    return this.write({
      [OpsField.rateLimit]: {
        requestsPerMinute: intIn('requestsPerMinute', requestsPerMinute, 0, 1_000_000),
        burst: intIn('burst', burst, 0, 1_000_000),
      },
    });
  }

  resetRateLimit(clientId: string): Promise<boolean> {
    if (!/^[\w.:%@-]{1,100}$/.test(clientId)) throw invalidInput('clientId', 'a user id or a client address');
    return this.rateLimits.reset(clientId);
  }

  async setEmergencyThrottle(enabled: boolean, requestsPerMinute: number | null | undefined): Promise<OpsSettingsView> {
    const rpm = intIn(
      'requestsPerMinute',
      requestsPerMinute ?? this.current().emergencyThrottle.requestsPerMinute,
      1,
      10_000_000,
    );
    await this.rateLimits.resetGlobal();
    return this.write({ [OpsField.emergencyThrottle]: { enabled, requestsPerMinute: rpm } });
  }

  setCircuitBreaker(
    service: string,
    enabled: boolean,
    failureThreshold?: number | null,
    resetTimeoutSeconds?: number | null,
  ): Promise<OpsSettingsView> {
    const name = this.subgraph(service);
    const prev = this.current().circuitBreakers[name] ?? DEFAULT_BREAKER;
    return this.write({
      [OpsField.breaker(name)]: {
        enabled,
        failureThreshold: intIn('failureThreshold', failureThreshold ?? prev.failureThreshold, 1, 1000),
        resetTimeoutSeconds: intIn('resetTimeoutSeconds', resetTimeoutSeconds ?? prev.resetTimeoutSeconds, 1, 3600),
      },
    });
  }

  setReadOnlyMode(service: string, enabled: boolean): Promise<OpsSettingsView> {
    return this.write({ [OpsField.readOnly(this.subgraph(service))]: enabled ? true : null });
  }

  setLogLevel(service: string, level: string, durationMinutes: number | null | undefined): Promise<OpsSettingsView> {
    const lvl = level.toLowerCase();
    if (!(LOG_LEVELS as readonly string[]).includes(lvl)) throw invalidInput('level', `one of ${LOG_LEVELS.join(', ')}`);
    return this.write({ [OpsField.logLevel(this.anyService(service))]: { value: lvl, until: untilOf(durationMinutes) } });
  }

  async resetLogLevels(): Promise<OpsSettingsView> {
    return this.toView(await this.client.clear('logLevel'));
  }

  setSecurityHeaders(headers: Array<{ name: string; value: string }>): Promise<OpsSettingsView> {
    if (headers.length > 20) throw invalidInput('headers', 'at most 20');
    const seen = new Set<string>();
    const clean = headers.map((h, i) => {
      const name = h.name.trim().toLowerCase();
      if (!ALLOWED_HEADERS.has(name))
        throw invalidInput(`headers.${i}.name`, `not a header that can be set here; one of ${[...ALLOWED_HEADERS].join(', ')}`);
      if (seen.has(name)) throw invalidInput(`headers.${i}.name`, 'given twice');
      seen.add(name);
      const value = h.value.trim();
      // no CR/LF or other control characters (header injection), printable ASCII only
      if (!value || value.length > 2048 || !/^[\x20-\x7e]+$/.test(value))
        throw invalidInput(`headers.${i}.value`, '1–2048 printable ASCII characters');
      return { name, value };
    });
    return this.write({ [OpsField.securityHeaders]: clean });
  }

  setPiiPatterns(patterns: string[]): Promise<OpsSettingsView> {
    if (patterns.length > 50) throw invalidInput('patterns', 'at most 50');
    // applied to every log line of every service: linear-time patterns only (ReDoS)
    patterns.forEach((p, i) => {
      const problem = piiPatternProblem(p);
      if (problem) throw invalidInput(`patterns.${i}`, problem);
    });
    return this.write({ [OpsField.piiPatterns]: patterns });
  }

  setTraceSampling(service: string, rate: number, durationMinutes: number | null | undefined): Promise<OpsSettingsView> {
    if (!Number.isFinite(rate) || rate < 0 || rate > 1) throw invalidInput('rate', 'from 0 to 1');
    return this.write({ [OpsField.sampling(this.anyService(service))]: { value: rate, until: untilOf(durationMinutes) } });
  }
}
