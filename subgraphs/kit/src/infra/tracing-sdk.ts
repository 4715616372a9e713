import {
  diag,
  DiagLogLevel,
  trace,
  type Attributes,
  type Context,
  type DiagLogger,
  type Link,
  type SpanKind,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SamplingResult,
} from '@opentelemetry/sdk-trace-node';
import type { Logger } from './logger';
import { samplingRate, type OpsSettings } from '../contracts/ops-settings';

/**
 * The OpenTelemetry SDK side of tracing.ts, imported only when tracing is configured (not
 * exported from the kit's index, so a process without tracing never loads the SDK).
 */

/**
 * Samples a root span at the service's rate now (an unexpired `setTraceSampling` override for the
 * service, else for `*`, else the default). The decision depends on the trace id only (the
 * standard ratio algorithm), so services at the same rate agree on the same trace.
 */
export class OpsSettingsSampler implements Sampler {
  private ratio: { rate: number; sampler: Sampler } | null = null;

  constructor(
    private readonly service: string,
    private readonly settings: () => OpsSettings,
    private readonly defaultRate: number,
  ) {}

  /** The rate that applies now. */
  rate(): number {
    return samplingRate(this.settings(), this.service, this.defaultRate);
  }

  shouldSample(
    ctx: Context,
    traceId: string,
    spanName: string,
    spanKind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    const rate = this.rate();
    if (!(rate > 0)) return { decision: SamplingDecision.NOT_RECORD };
    if (rate >= 1) return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    if (this.ratio?.rate !== rate) this.ratio = { rate, sampler: new TraceIdRatioBasedSampler(rate) };
    return this.ratio.sampler.shouldSample(ctx, traceId, spanName, spanKind, attributes, links);
  }

  toString(): string {
    return `OpsSettingsSampler{${this.service}}`;
  }
}

/**
 * Parent-based: a child follows its parent; a root span, and a span whose remote parent was not
 * sampled (the gateway skipped the request), is decided by this service's own rate.
 */
export function createSampler(service: string, settings: () => OpsSettings, defaultRate: number): Sampler {
  const own = new OpsSettingsSampler(service, settings, defaultRate);
  return new ParentBasedSampler({ root: own, remoteParentNotSampled: own });
}

/** The SDK's own complaints (e.g. an unreachable collector) go to the service log as warnings. */
function diagToLog(log: Logger): DiagLogger {
  const to =
    (level: 'warn' | 'debug') =>
    (message: string, ...args: unknown[]) =>
      log[level](
        { otel: args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ') || undefined },
        `opentelemetry: ${message}`,
      );
  return { error: to('warn'), warn: to('warn'), info: to('debug'), debug: to('debug'), verbose: to('debug') };
}

export interface ProviderOptions {
  service: string;
  url: string;
  log: Logger;
  settings: () => OpsSettings;
  defaultRate: number;
}

/** A key that may carry an identifier (a uuid, an ObjectId, a number, an email) is not recorded. */
const ID_LIKE_KEY = /[0-9a-f]{8,}|\d{6,}|@/i;

/**
 * A MongoDB command's shape with every value replaced by `?` (field names and operators only; a
 * key that looks like an identifier becomes `?` too; arrays show their first three items), at most
 * 1000 characters: enough to tell which query ran, nothing of the data.
 */
export function mongoStatementShape(command: unknown): string {
  const shape = (v: unknown, depth: number): unknown => {
    if (v === null || typeof v !== 'object' || '_bsontype' in v || v instanceof Date || Buffer.isBuffer(v)) return '?';
    if (depth > 5) return '…';
    if (Array.isArray(v)) return v.slice(0, 3).map((x) => shape(x, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[ID_LIKE_KEY.test(k) ? '?' : k] = shape(x, depth + 1);
    return out;
  };
  const text = JSON.stringify(shape(command, 0));
  return text.length > 1000 ? `${text.slice(0, 999)}…` : text;
}

/** An outgoing URL without its query string (ids and tokens travel there). */
function withoutQuery(url: string): string {
  const i = url.indexOf('?');
  return i < 0 ? url : url.slice(0, i);
}

/**
 * Client spans for the stores and outgoing HTTP: every MongoDB command (driver level, so mongoose,
 * typegoose and raw collection calls alike; statement as its shape only), every ioredis command
 * (command name and argument count only: keys carry ids) and every request through undici (the
 * gateway's subgraph fetches and every `fetch`; URL without its query string). Those of MongoDB
 * and Redis only inside a span (a request, a consumer's handling), so polling loops add none. The
 * undici instrumentation also writes the `traceparent` header of each request.
 */
function instrumentations() {
  return [
    new MongoDBInstrumentation({
      requireParentSpan: true,
      // the shape is worked out only for a span that will be recorded (its parent is)
      dbStatementSerializer: (command) => (trace.getActiveSpan()?.isRecording() ? mongoStatementShape(command) : ''),
    }),
    new IORedisInstrumentation({
      requireParentSpan: true,
      dbStatementSerializer: (cmd, args) => `${cmd} [${args.length} args]`,
    }),
    new UndiciInstrumentation({
      startSpanHook: (request) => {
        const path = request.path ?? '';
        return { 'url.full': withoutQuery(`${request.origin}${path}`), 'url.query': path.includes('?') ? '[redacted]' : '' };
      },
    }),
  ];
}

/** Packages whose instrumentation hooks `require` (undici's listens on diagnostics channels instead). */
const HOOKED_PACKAGES = /[\\/]node_modules[\\/](mongodb|ioredis)[\\/]/;

/**
 * The hooks patch a package when it is required; a service has loaded mongodb and ioredis long
 * before tracing starts (its imports). Requiring their loaded files again runs the hooks on the
 * modules as they are (the patches change prototypes, so existing clients are traced too).
 */
function patchLoadedModules(): void {
  for (const file of Object.keys(require.cache)) {
    if (!HOOKED_PACKAGES.test(file)) continue;
    try {
      require(file);
    } catch {
      // a file that cannot be loaded again is not one the instrumentations patch
    }
  }
}

export interface RegisteredTracing {
  provider: NodeTracerProvider;
  /** Removes the instrumentations' patches and listeners. */
  unregister: () => void;
}

/**
 * Creates and registers the global tracer provider (W3C trace context propagation, async-hooks
 * context) and the store and HTTP client instrumentations.
 */
export function registerTracerProvider(opts: ProviderOptions): RegisteredTracing {
  diag.setLogger(diagToLog(opts.log), { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  const provider = new NodeTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ 'service.name': opts.service })),
    sampler: createSampler(opts.service, opts.settings, opts.defaultRate),
    // batch size, queue and delay from the standard OTEL_BSP_* variables (default: every 5 s)
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: opts.url }))],
  });
  provider.register();
  const unregister = registerInstrumentations({ tracerProvider: provider, instrumentations: instrumentations() });
  patchLoadedModules();
  return { provider, unregister };
}
