import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import {
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
} from '@opentelemetry/api';
import type { BaseConfig } from './config';
import type { Logger } from './logger';
import type { OpsSettings } from '../contracts/ops-settings';
import type * as TracingSdk from './tracing-sdk';

/**
 * OpenTelemetry traces (ops `setTraceSampling`). Off unless an OTLP endpoint is configured: then
 * nothing is loaded or registered and every helper here returns at once, so a process without
 * tracing pays nothing. On: one tracer provider per process (`service.name` = the service),
 * spans batched to the OTLP/HTTP (JSON) endpoint, and a parent-based sampler whose rate is read
 * live from the ops settings on every root span (`samplingRate(settings, service, default)`), so
 * an override takes effect on the next request and lapses at its expiry without a restart.
 *
 * Every GraphQL request over HTTP gets a server span (kit http.ts). The gateway's is the root of the
 * trace (a trace context sent by a client is ignored); under it come @apollo/gateway's own spans when
 * its executor runs the plan (`gateway.request`, `gateway.fetch`, …: operation name and type only),
 * and each subgraph fetch carries a W3C `traceparent`. A subgraph's server span continues it: a
 * request the gateway sampled is sampled in the subgraph too; one it did not sample is sampled at
 * the subgraph's own rate (so `setTraceSampling(service: "tasks", …)` alone traces the tasks subgraph).
 *
 * Under the server spans: a client span for every MongoDB command, Redis command and outgoing
 * HTTP request (undici: the gateway's subgraph fetches, service-to-service `fetch`), which also
 * carries the `traceparent`. A domain event carries the `traceparent` of the change that caused it
 * in its stream entry (kept in the outbox record until the relay sends it), and a stream consumer
 * handles it in a span under that context, so a consumer's work joins the change's trace. Every
 * log line written inside a span names its `trace_id` and `span_id` (logger.ts).
 */

export type TracingConfig = Pick<
  BaseConfig,
  | 'OTEL_EXPORTER_OTLP_ENDPOINT'
  | 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'
  | 'OTEL_TRACES_SAMPLER'
  | 'OTEL_TRACES_SAMPLER_ARG'
  | 'OTEL_SDK_DISABLED'
>;

export interface TracingOptions {
  /** `gateway`, `users`, … (the resource's `service.name` and the key of its sampling setting). */
  service: string;
  config: TracingConfig;
  log: Logger;
  /** The process's current ops settings (read on every sampling decision). */
  settings: () => OpsSettings;
}

export interface Tracing {
  enabled: boolean;
  /** Ends tracing: exports the spans still queued (a shutdown step, after the server stopped). */
  shutdown(): Promise<void>;
}

/** How long a stopping process waits for its last spans to be exported. */
const SHUTDOWN_FLUSH_MS = 3000;

/** True while this process has a tracer provider registered (tracing configured and started). */
let active = false;

export function tracingActive(): boolean {
  return active;
}

/** Where spans go: the traces endpoint as is, else the base endpoint plus `/v1/traces`; null = off. */
export function otlpTracesUrl(config: TracingConfig): string | null {
  if (config.OTEL_SDK_DISABLED === 'true') return null;
  if (config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = config.OTEL_EXPORTER_OTLP_ENDPOINT;
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : null;
}

/** The rate while no `setTraceSampling` override applies: from OTEL_TRACES_SAMPLER, else OTEL_TRACES_SAMPLER_ARG. */
export function defaultSamplingRate(config: TracingConfig): number {
  const sampler = config.OTEL_TRACES_SAMPLER?.replace(/^parentbased_/, '');
  if (sampler === 'always_on') return 1;
  if (sampler === 'always_off') return 0;
  return config.OTEL_TRACES_SAMPLER_ARG;
}

/**
 * Registers the process's tracer provider when an endpoint is configured; otherwise does nothing
 * (the OpenTelemetry SDK is not even loaded). One provider per process: a second call while one is
 * active (two services in one test process) leaves the first in place.
 */
export function startTracing(opts: TracingOptions): Tracing {
  const url = otlpTracesUrl(opts.config);
  if (!url || active) {
    if (url) opts.log.warn('tracing already started in this process; this service adds no provider');
    return { enabled: false, shutdown: async () => undefined };
  }
  const { registerTracerProvider } = require('./tracing-sdk') as typeof TracingSdk;
  const defaultRate = defaultSamplingRate(opts.config);
  const { provider, unregister } = registerTracerProvider({ ...opts, url, defaultRate });
  active = true;
  opts.log.info({ endpoint: new URL(url).host, defaultRate }, 'tracing on (OTLP/HTTP)');
  let stopping: Promise<void> | null = null;
  return {
    enabled: true,
    shutdown: () =>
      (stopping ??= (async () => {
        active = false;
        unregister();
        // export what is queued, but an unreachable collector must not hold up the process's exit
        const flushed = provider.shutdown().then(
          () => true,
          (err: unknown) => {
            opts.log.warn({ err: (err as Error).message }, 'tracing shutdown failed');
            return true;
          },
        );
        const timeout = new Promise<false>((r) => setTimeout(() => r(false), SHUTDOWN_FLUSH_MS).unref());
        if (!(await Promise.race([flushed, timeout])))
          opts.log.warn(`spans not exported within ${SHUTDOWN_FLUSH_MS} ms of shutdown: dropped`);
        // unregister, so this process (e.g. a test) could register another provider later
        trace.disable();
        propagation.disable();
        context.disable();
      })()),
  };
}

/** The W3C `traceparent` of the active span (sampled or not); undefined while tracing is off or outside any span. */
export function currentTraceparent(): string | undefined {
  if (!active) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/** The active span's ids for a log line (`trace_id`, `span_id`); null while tracing is off or outside any span. */
export function activeTraceIds(): { trace_id: string; span_id: string } | null {
  if (!active) return null;
  const ctx = trace.getActiveSpan()?.spanContext();
  return ctx && isSpanContextValid(ctx) ? { trace_id: ctx.traceId, span_id: ctx.spanId } : null;
}

/**
 * Runs `handle` inside a server span for one incoming HTTP request: a new trace, or with `continueTrace`
 * the caller's (`traceparent`). Attributes: method, route and status only (no query string, headers or body).
 */
export function traceServerRequest<T>(
  req: IncomingMessage,
  res: ServerResponse,
  route: string,
  continueTrace: boolean,
  handle: () => T,
): T {
  if (!active) return handle();
  const parent = continueTrace ? propagation.extract(ROOT_CONTEXT, req.headers) : ROOT_CONTEXT;
  const method = req.method ?? 'GET';
  // looked up per request (cheap, cached by the provider), so a later provider is picked up too
  const span = trace
    .getTracer('@tm/kit')
    .startSpan(
      `${method} ${route}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'http.route': route, 'url.path': route } },
      parent,
    );
  if (span.isRecording()) {
    res.once('close', () => {
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500 || !res.writableFinished) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
  }
  return context.with(trace.setSpan(parent, span), handle);
}

const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,99}$/;
const NAMED_OPERATION = /^\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]{0,99})/;

/** Puts the request's operation name (`operationName`, else the document's first operation's) on the active server span. */
export function nameServerSpan(body: unknown): void {
  const span = trace.getActiveSpan();
  if (!span?.isRecording() || typeof body !== 'object' || body === null) return;
  const { operationName, query } = body as { operationName?: unknown; query?: unknown };
  const name =
    typeof operationName === 'string' ? operationName : typeof query === 'string' ? NAMED_OPERATION.exec(query)?.[1] : undefined;
  if (name && GRAPHQL_NAME.test(name)) span.setAttribute('graphql.operation.name', name);
}

/** Names the active server span after the GraphQL operation (name and type, never the document or variables). */
export function tracingPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      if (!active) return;
      const span = trace.getActiveSpan();
      if (!span?.isRecording()) return;
      return {
        async didResolveOperation({ operationName, operation }) {
          if (operation) span.setAttribute('graphql.operation.type', operation.operation);
          if (operationName) span.setAttribute('graphql.operation.name', operationName);
        },
        async didEncounterErrors({ errors }) {
          const code = errors[0]?.extensions?.code;
          span.setAttribute('graphql.error.count', errors.length);
          if (typeof code === 'string') span.setAttribute('graphql.error.code', code);
        },
      };
    },
  };
}

/**
 * Runs `fn` in the root span of a new trace, for work that arrives without an HTTP request: an
 * operation over graphql-ws (`server`), the resolution of a live event (`consumer`). The supergraph
 * query it runs nests its spans (and the subgraphs' server spans) under it. Attributes: names,
 * types and counts only; an error code from `codeOf(result)` marks the span.
 */
export async function traceOperation<T>(
  name: string,
  kind: 'server' | 'consumer',
  attributes: Record<string, string | number>,
  fn: () => Promise<T>,
  codeOf?: (result: T) => string | undefined,
): Promise<T> {
  if (!active) return fn();
  const span = trace
    .getTracer('@tm/kit')
    .startSpan(name, { kind: kind === 'server' ? SpanKind.SERVER : SpanKind.CONSUMER, attributes }, ROOT_CONTEXT);
  return runInSpan(span, ROOT_CONTEXT, fn, codeOf);
}

/** Runs `fn` as the active span's work; ends the span, marked by a throw or by an error code from `codeOf`. */
async function runInSpan<T>(
  span: Span,
  parent: Context,
  fn: () => Promise<T>,
  codeOf?: (result: T) => string | undefined,
): Promise<T> {
  if (!span.isRecording()) return context.with(trace.setSpan(parent, span), fn);
  try {
    const result = await context.with(trace.setSpan(parent, span), fn);
    const code = codeOf?.(result);
    if (code) span.setAttribute('graphql.error.code', code);
    return result;
  } catch (err) {
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw err;
  } finally {
    span.end();
  }
}

/**
 * Runs a stream consumer's handling of one entry in a consumer span (`process <stream>`), a child
 * of the `traceparent` the entry carries (the change that caused the event), else the root of a
 * new trace. Attributes: stream, group, entry id and event type.
 */
export function traceStreamEntry<T>(
  entry: { stream: string; group: string; id: string; type: string; traceparent?: string },
  fn: () => Promise<T>,
): Promise<T> {
  if (!active) return fn();
  const parent = entry.traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent: entry.traceparent }) : ROOT_CONTEXT;
  const span = trace.getTracer('@tm/kit').startSpan(
    `process ${entry.stream}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'redis',
        'messaging.operation.type': 'process',
        'messaging.destination.name': entry.stream,
        'messaging.consumer.group.name': entry.group,
        'messaging.message.id': entry.id,
        'tm.event.type': entry.type,
      },
    },
    parent,
  );
  return runInSpan(span, parent, fn);
}
