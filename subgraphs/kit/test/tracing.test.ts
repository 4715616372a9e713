import { ROOT_CONTEXT, SpanKind, trace, TraceFlags, type Context } from '@opentelemetry/api';
import { SamplingDecision } from '@opentelemetry/sdk-trace-node';
import { baseConfigSchema, ConfigError, loadConfig } from '../src/infra/config';
import { createLogger } from '../src/infra/logger';
import { defaultOpsSettings, type OpsSettings } from '../src/contracts/ops-settings';
import {
  activeTraceIds,
  currentTraceparent,
  defaultSamplingRate,
  otlpTracesUrl,
  startTracing,
  traceStreamEntry,
  tracingActive,
  type TracingConfig,
} from '../src/infra/tracing';
import { createSampler, mongoStatementShape } from '../src/infra/tracing-sdk';

const log = createLogger('test', process.env.TEST_LOG_LEVEL ?? 'silent');
const env = {
  MONGO_URL: 'mongodb://127.0.0.1:27017/tm',
  REDIS_URL: 'redis://127.0.0.1:6379',
  INTERNAL_SECRET: 'this-is-a-long-internal-secret-0123456789',
};
const cfg = (over: Partial<TracingConfig> = {}): TracingConfig => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: undefined,
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined,
  OTEL_TRACES_SAMPLER_ARG: 0,
  OTEL_SDK_DISABLED: undefined,
  ...over,
});

describe('tracing configuration', () => {
  it('is off without an endpoint; the traces endpoint is used as is, the base one gets /v1/traces; OTEL_SDK_DISABLED wins', () => {
    expect(otlpTracesUrl(cfg())).toBeNull();
    expect(otlpTracesUrl(cfg({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }))).toBe('http://collector:4318/v1/traces');
    expect(otlpTracesUrl(cfg({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/otlp/' }))).toBe(
      'http://collector:4318/otlp/v1/traces',
    );
    expect(
      otlpTracesUrl(
        cfg({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://b/traces' }),
      ),
    ).toBe('https://b/traces');
    expect(otlpTracesUrl(cfg({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_SDK_DISABLED: 'true' }))).toBeNull();
  });

  it('reads the OTEL_* variables (empty = unset, default rate 0) and refuses bad ones by name', () => {
    const plain = loadConfig(baseConfigSchema, env);
    expect(plain).toMatchObject({ OTEL_TRACES_SAMPLER_ARG: 0 });
    expect(plain.OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
    const set = loadConfig(baseConfigSchema, {
      ...env,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    });
    expect(set).toMatchObject({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined,
      OTEL_TRACES_SAMPLER_ARG: 0.25,
    });
    let error: unknown;
    try {
      loadConfig(baseConfigSchema, { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url', OTEL_TRACES_SAMPLER_ARG: '2' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/OTEL_EXPORTER_OTLP_ENDPOINT/);
    expect((error as Error).message).toMatch(/OTEL_TRACES_SAMPLER_ARG/);
  });

  it('takes the default rate from OTEL_TRACES_SAMPLER (always parent-based), else OTEL_TRACES_SAMPLER_ARG', () => {
    expect(defaultSamplingRate(cfg({ OTEL_TRACES_SAMPLER_ARG: 0.3 }))).toBe(0.3);
    expect(defaultSamplingRate(cfg({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: 0.3 }))).toBe(0.3);
    expect(defaultSamplingRate(cfg({ OTEL_TRACES_SAMPLER: 'always_on' }))).toBe(1);
    expect(defaultSamplingRate(cfg({ OTEL_TRACES_SAMPLER: 'parentbased_always_on' }))).toBe(1);
    expect(defaultSamplingRate(cfg({ OTEL_TRACES_SAMPLER: 'always_off', OTEL_TRACES_SAMPLER_ARG: 0.5 }))).toBe(0);
    expect(loadConfig(baseConfigSchema, { ...env, OTEL_TRACES_SAMPLER: 'parentbased_always_on' }).OTEL_TRACES_SAMPLER).toBe(
      'parentbased_always_on',
    );
    expect(loadConfig(baseConfigSchema, { ...env, OTEL_TRACES_SAMPLER: '' }).OTEL_TRACES_SAMPLER).toBeUndefined();
    expect(() => loadConfig(baseConfigSchema, { ...env, OTEL_TRACES_SAMPLER: 'jaeger_remote' })).toThrow(/OTEL_TRACES_SAMPLER/);
  });

  it('registers nothing without an endpoint', async () => {
    const t = startTracing({ service: 'tasks', config: cfg(), log, settings: () => defaultOpsSettings() });
    expect(t.enabled).toBe(false);
    expect(tracingActive()).toBe(false);
    await t.shutdown();
  });
});

describe('the sampler', () => {
  const TRACE = '0af7651916cd43dd8448eb211c80319c';
  const NOW = Date.parse('2030-01-01T00:00:00Z');
  let now = NOW;
  beforeEach(() => {
    now = NOW;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
  });
  afterEach(() => jest.restoreAllMocks());

  const withSampling = (entries: Record<string, { value: number; until: number | null }>): OpsSettings => ({
    ...defaultOpsSettings(),
    traceSampling: entries,
  });
  const decide = (
    settings: OpsSettings,
    opts: { fallback?: number; parent?: { sampled: boolean; remote: boolean }; traceId?: string } = {},
  ) => {
    let ctx: Context = ROOT_CONTEXT;
    if (opts.parent) {
      ctx = trace.setSpanContext(ROOT_CONTEXT, {
        traceId: opts.traceId ?? TRACE,
        spanId: 'b7ad6b7169203331',
        traceFlags: opts.parent.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
        isRemote: opts.parent.remote,
      });
    }
    return createSampler('tasks', () => settings, opts.fallback ?? 0).shouldSample(
      ctx,
      opts.traceId ?? TRACE,
      'span',
      SpanKind.SERVER,
      {},
      [],
    ).decision;
  };

  it('samples a root span at the rate set now, and at the default again once the override has expired', () => {
    const s = withSampling({ '*': { value: 1, until: NOW + 60_000 } });
    expect(decide(withSampling({}))).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(s)).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    now = NOW + 59_999;
    expect(decide(s)).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    now = NOW + 60_000;
    expect(decide(s)).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(s, { fallback: 1 })).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide(withSampling({ '*': { value: 1, until: null } }))).toBe(SamplingDecision.RECORD_AND_SAMPLED);
  });

  it("prefers the service's own override to the one for every service", () => {
    expect(decide(withSampling({ '*': { value: 1, until: null }, tasks: { value: 0, until: null } }))).toBe(
      SamplingDecision.NOT_RECORD,
    );
    expect(decide(withSampling({ '*': { value: 0, until: null }, tasks: { value: 1, until: null } }))).toBe(
      SamplingDecision.RECORD_AND_SAMPLED,
    );
    expect(decide(withSampling({ users: { value: 1, until: null } }))).toBe(SamplingDecision.NOT_RECORD);
  });

  it('follows a sampled remote parent; an unsampled remote parent leaves it to the own rate; a local child follows its parent', () => {
    const off = withSampling({});
    const on = withSampling({ tasks: { value: 1, until: null } });
    expect(decide(off, { parent: { sampled: true, remote: true } })).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide(off, { parent: { sampled: false, remote: true } })).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(on, { parent: { sampled: false, remote: true } })).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide(on, { parent: { sampled: false, remote: false } })).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(off, { parent: { sampled: true, remote: false } })).toBe(SamplingDecision.RECORD_AND_SAMPLED);
  });

  it('samples a fraction by trace id (the same trace gets the same answer everywhere)', () => {
    const half = withSampling({ '*': { value: 0.5, until: null } });
    let sampled = 0;
    for (let i = 0; i < 2000; i++) {
      const id = (BigInt(i + 1) * 0x9e3779b97f4a7c15n).toString(16).padStart(32, '0').slice(-32);
      const first = decide(half, { traceId: id });
      expect(decide(half, { traceId: id })).toBe(first);
      if (first === SamplingDecision.RECORD_AND_SAMPLED) sampled++;
    }
    expect(sampled / 2000).toBeGreaterThan(0.4);
    expect(sampled / 2000).toBeLessThan(0.6);
  });
});

describe('a registered provider', () => {
  // (exporting is checked end to end in gateway/test/tracing.test.ts: the OTLP exporter loads
  // node:http with a dynamic import, which jest's module sandbox does not allow)
  it('is one per process, and shutdown unregisters it', async () => {
    const config = cfg({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
    const first = startTracing({ service: 'tasks', config, log, settings: () => defaultOpsSettings() });
    const second = startTracing({ service: 'users', config, log, settings: () => defaultOpsSettings() });
    try {
      expect(first.enabled).toBe(true);
      expect(second.enabled).toBe(false);
      expect(tracingActive()).toBe(true);
      // at rate 0 a root span is not recorded (and nothing is queued for export)
      const span = trace.getTracer('test').startSpan('root');
      expect(span.isRecording()).toBe(false);
      span.end();
    } finally {
      await second.shutdown();
      expect(tracingActive()).toBe(true);
      await first.shutdown();
    }
    expect(tracingActive()).toBe(false);
    expect(trace.getTracer('test').startSpan('after').spanContext().traceId).toBe('00000000000000000000000000000000');
  });
});

describe('trace context in log lines and stream entries', () => {
  const REMOTE = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';
  const lines: Array<Record<string, unknown>> = [];
  const captured = createLogger('test-svc', 'info', { write: (line: string) => void lines.push(JSON.parse(line)) });
  const entry = (traceparent?: string) => ({ stream: 'events:tasks', group: 'g', id: '1-0', type: 'TaskCreated', traceparent });

  it('without tracing: no trace fields, no traceparent, the handler runs as is', async () => {
    lines.length = 0;
    await trace.getTracer('test').startActiveSpan('x', async (span) => {
      captured.info('plain');
      expect(currentTraceparent()).toBeUndefined();
      expect(await traceStreamEntry(entry(REMOTE), async () => activeTraceIds())).toBeNull();
      span.end();
    });
    expect(lines[0]).not.toHaveProperty('trace_id');
    expect(lines[0]).not.toHaveProperty('span_id');
  });

  it("with tracing on: a line logged inside a span carries its trace and span ids; a consumer's span continues the entry's trace", async () => {
    // rate 0: spans are not recorded (nothing is exported) but carry valid ids, as in production when unsampled
    const t = startTracing({
      service: 'tasks',
      config: cfg({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' }),
      log,
      settings: () => defaultOpsSettings(),
    });
    try {
      lines.length = 0;
      captured.info('outside');
      const inside = trace.getTracer('test').startActiveSpan('request', (span) => {
        captured.info('inside');
        const parent = currentTraceparent();
        span.end();
        return { ids: span.spanContext(), parent };
      });
      expect(lines[0]).not.toHaveProperty('trace_id');
      expect(lines[1]).toMatchObject({ msg: 'inside', trace_id: inside.ids.traceId, span_id: inside.ids.spanId });
      expect(inside.parent).toBe(`00-${inside.ids.traceId}-${inside.ids.spanId}-00`);

      // the consumer's handling: same trace as the entry's traceparent, a span of its own
      const handled = await traceStreamEntry(entry(REMOTE), async () => {
        captured.info('handling');
        return activeTraceIds();
      });
      expect(handled).toMatchObject({ trace_id: '0af7651916cd43dd8448eb211c80319c' });
      expect(handled!.span_id).not.toBe('b7ad6b7169203331');
      expect(lines[2]).toMatchObject({
        msg: 'handling',
        trace_id: '0af7651916cd43dd8448eb211c80319c',
        span_id: handled!.span_id,
      });
      // an entry without one starts a trace of its own
      const fresh = await traceStreamEntry(entry(), async () => activeTraceIds());
      expect(fresh!.trace_id).not.toBe('0af7651916cd43dd8448eb211c80319c');
    } finally {
      await t.shutdown();
    }
  });
});

describe('the MongoDB statement recorded', () => {
  it('is the command shape: no values, no identifier-like keys, at most 1000 characters', () => {
    const shape = mongoStatementShape({
      update: 'tasks',
      updates: [
        {
          q: { _id: 'abc', title: 'Secret plan', n: 3, at: new Date() },
          u: { $set: { 'votes.5f1d7c0e9a2b4c3d': true, done: null } },
        },
      ],
    });
    expect(JSON.parse(shape)).toEqual({
      update: '?',
      updates: [{ q: { _id: '?', title: '?', n: '?', at: '?' }, u: { $set: { '?': '?', done: '?' } } }],
    });
    expect(
      mongoStatementShape({ insert: 'x', documents: Array.from({ length: 3 }, () => ({ ['k'.repeat(600)]: 1 })) }),
    ).toHaveLength(1000);
  });
});
