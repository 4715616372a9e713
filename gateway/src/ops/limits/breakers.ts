import CircuitBreaker from 'opossum';
import { type BreakerSettings, DEFAULT_BREAKER, ErrorCode, type OpsSettings } from '@tm/kit/contracts';
import { type Logger } from '@tm/kit/infra';
import { GraphQLError } from 'graphql';
import client from 'prom-client';

/** A subgraph fetch: anything answering with an HTTP status. */
type Fetcher<I, R extends { status: number }> = (url: string, init: I) => Promise<R>;
export type BreakerState = 'closed' | 'open' | 'halfOpen' | 'disabled';

/** A response that counts as a failure (the subgraph answered 502/503/504) but is still passed on. */
class FailedResponse extends Error {
  constructor(readonly response: { status: number }) {
    super(`subgraph answered ${response.status}`);
  }
}

const STATE_VALUE: Record<BreakerState, number> = { closed: 0, halfOpen: 1, open: 2, disabled: -1 };

/**
 * One circuit breaker (opossum) per subgraph around its fetches, configured from the ops settings.
 * Failures are network errors, timeouts and 502/503/504 answers; `failureThreshold` of them
 * within 10 s (and at least half of the calls) open the breaker. While open, that subgraph's
 * fetches fail at once with SYS-002 (the rest of the plan still runs: partial data); after
 * `resetTimeoutSeconds` one request is let through (half-open) and its success closes it.
 */
export class SubgraphBreakers {
  private readonly breakers = new Map<
    string,
    { config: string; source: BreakerSettings; breaker: CircuitBreaker<[string, unknown], { status: number }> }
  >();

  constructor(
    private readonly settings: () => OpsSettings,
    private readonly log: Logger,
    registry?: client.Registry,
  ) {
    if (registry) {
      const gauge = new client.Gauge({
        name: 'circuit_breaker_state',
        help: 'Subgraph circuit breaker state: 0 closed, 1 half-open, 2 open, -1 disabled',
        labelNames: ['subgraph'],
        registers: [registry],
        collect: () => {
          for (const [name, state] of Object.entries(this.states())) gauge.set({ subgraph: name }, STATE_VALUE[state]);
        },
      });
    }
  }

  configOf(name: string): BreakerSettings {
    return this.settings().circuitBreakers[name] ?? DEFAULT_BREAKER;
  }

  private breakerFor<I, R extends { status: number }>(name: string, cfg: BreakerSettings, fetcher: Fetcher<I, R>) {
    const existing = this.breakers.get(name);
    // the settings object changes only when an operator changes it: compare its text only then
    if (existing?.source === cfg) return existing.breaker as unknown as CircuitBreaker<[string, I], R>;
    const key = JSON.stringify(cfg);
    if (existing?.config === key) {
      existing.source = cfg;
      return existing.breaker as unknown as CircuitBreaker<[string, I], R>;
    }
    existing?.breaker.shutdown();
    const breaker = new CircuitBreaker(
      async (url: string, init: I) => {
        const res = await fetcher(url, init);
        if (res.status === 502 || res.status === 503 || res.status === 504) throw new FailedResponse(res);
        return res;
      },
      {
        name,
        timeout: false, // the fetcher has its own timeout (SUBGRAPH_TIMEOUT_MS)
        volumeThreshold: cfg.failureThreshold,
        errorThresholdPercentage: 50,
        rollingCountTimeout: 10_000,
        rollingCountBuckets: 10,
        resetTimeout: cfg.resetTimeoutSeconds * 1000,
      },
    );
    breaker.on('open', () => this.log.warn({ subgraph: name }, 'circuit breaker open'));
    breaker.on('halfOpen', () => this.log.info({ subgraph: name }, 'circuit breaker half-open: probing'));
    breaker.on('close', () => this.log.info({ subgraph: name }, 'circuit breaker closed'));
    this.breakers.set(name, {
      config: key,
      source: cfg,
      breaker: breaker as unknown as CircuitBreaker<[string, unknown], { status: number }>,
    });
    return breaker;
  }

  /** The subgraph's fetcher behind its breaker. */
  wrap<I, R extends { status: number }>(name: string, fetcher: Fetcher<I, R>): Fetcher<I, R> {
    return async (url, init) => {
      const cfg = this.configOf(name);
      if (!cfg.enabled) {
        const existing = this.breakers.get(name);
        existing?.breaker.shutdown();
        this.breakers.delete(name);
        return fetcher(url, init).catch((err: unknown) => {
          throw timedOut(name, err) ?? err;
        });
      }
      const breaker = this.breakerFor(name, cfg, fetcher);
      try {
        return await breaker.fire(url, init);
      } catch (err) {
        if (err instanceof FailedResponse) return err.response as R;
        if ((err as { code?: string }).code === 'EOPENBREAKER') {
          throw new GraphQLError(`The ${name} service is unavailable, try again shortly`, {
            extensions: { code: ErrorCode.ServiceUnavailable, service: name },
          });
        }
        throw timedOut(name, err) ?? err;
      }
    };
  }

  state(name: string): BreakerState {
    if (!this.configOf(name).enabled) return 'disabled';
    const b = this.breakers.get(name)?.breaker;
    if (!b) return 'closed';
    return b.opened ? 'open' : b.halfOpen ? 'halfOpen' : 'closed';
  }

  states(): Record<string, BreakerState> {
    return Object.fromEntries([...this.breakers.keys()].map((n) => [n, this.state(n)]));
  }

  close(): void {
    for (const { breaker } of this.breakers.values()) breaker.shutdown();
    this.breakers.clear();
  }
}

/**
 * A subgraph fetch that ran out of SUBGRAPH_TIMEOUT_MS, as a clear SYS-002 naming the service (not an
 * "Internal server error"). A mutation that timed out may still complete there, so the client is told.
 */
function timedOut(name: string, err: unknown): GraphQLError | null {
  const code = (err as { code?: string } | null)?.code;
  if (code !== 'UND_ERR_HEADERS_TIMEOUT' && code !== 'UND_ERR_BODY_TIMEOUT') return null;
  return new GraphQLError(
    `The ${name} service did not answer in time; a change it was making may still complete, read it back before retrying`,
    {
      extensions: { code: ErrorCode.ServiceUnavailable, service: name },
    },
  );
}
