import { SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { tracingActive } from '@tm/kit/infra';

const tracer = trace.getTracer('@tm/gateway');

/**
 * Runs `fn` inside an active span named like @apollo/gateway's own (`gateway.request`,
 * `gateway.plan`, `gateway.fetch`, `gateway.postprocessing`), so traces look the same whichever
 * executor ran. Costs nothing while tracing is off.
 */
export function span<T>(name: string, attributes: Attributes, fn: () => T): T {
  if (!tracingActive()) return fn();
  return tracer.startActiveSpan(name, { attributes }, (s) => {
    const end = (err?: unknown) => {
      if (err) s.setStatus({ code: SpanStatusCode.ERROR });
      s.end();
    };
    try {
      const out = fn();
      if (out instanceof Promise) {
        return out.then(
          (v: unknown) => {
            end();
            return v;
          },
          (err: unknown) => {
            end(err);
            throw err;
          },
        ) as T;
      }
      end();
      return out;
    } catch (err) {
      end(err);
      throw err;
    }
  });
}
