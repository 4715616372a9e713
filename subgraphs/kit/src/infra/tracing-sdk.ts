import { diag, DiagLogLevel, type Attributes, type Context, type DiagLogger, type Link, type SpanKind } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
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

/** Creates and registers the global tracer provider (W3C trace context propagation, async-hooks context). */
export function registerTracerProvider(opts: ProviderOptions): NodeTracerProvider {
  diag.setLogger(diagToLog(opts.log), { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  const provider = new NodeTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ 'service.name': opts.service })),
    sampler: createSampler(opts.service, opts.settings, opts.defaultRate),
    // batch size, queue and delay from the standard OTEL_BSP_* variables (default: every 5 s)
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: opts.url }))],
  });
  provider.register();
  return provider;
}
