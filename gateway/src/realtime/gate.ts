/** What a subscription start waiting at the gate ended as. */
export type GateOutcome = 'go' | 'gone' | 'full';

interface Waiter {
  alive: () => boolean;
  resolve: (outcome: GateOutcome) => void;
}

/**
 * Bounds how many subscription starts (each a supergraph query run as the subscriber) run at once,
 * per connection and per process. Without it, clients that subscribe and unsubscribe faster than
 * the subgraphs answer pile up queries nobody waits for, and every live event's resolution queues
 * behind them. Waiters run first in, first out; one whose client already left is dropped unrun.
 */
export class StartGate {
  private running = 0;
  private readonly waiting: Waiter[] = [];

  constructor(
    private readonly maxRunning: number,
    private readonly maxWaiting: number,
    private readonly onDrop: (reason: 'gone' | 'full') => void = () => undefined,
  ) {}

  /** `go`: run, then call `release()`; `gone`: the client left while waiting; `full`: too many waiting. */
  acquire(alive: () => boolean): Promise<GateOutcome> {
    if (!alive()) return this.drop('gone');
    if (this.running < this.maxRunning) {
      this.running++;
      return Promise.resolve('go');
    }
    if (this.waiting.length >= this.maxWaiting) return this.drop('full');
    return new Promise((resolve) => this.waiting.push({ alive, resolve }));
  }

  release(): void {
    this.running--;
    while (this.running < this.maxRunning && this.waiting.length) {
      const next = this.waiting.shift()!;
      if (!next.alive()) {
        this.onDrop('gone');
        next.resolve('gone');
        continue;
      }
      this.running++;
      next.resolve('go');
    }
  }

  /** Starts running and waiting now. */
  load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  private drop(reason: 'gone' | 'full'): Promise<GateOutcome> {
    this.onDrop(reason);
    return Promise.resolve(reason);
  }
}

/**
 * Takes a turn at each gate in order (the connection's, then the process's); when one says
 * `gone` or `full`, gives back the turns already taken. `release` gives back all of them.
 */
export async function passGates(
  gates: readonly StartGate[],
  alive: () => boolean,
): Promise<{ outcome: GateOutcome; release: () => void }> {
  const taken: StartGate[] = [];
  const release = () => {
    for (const g of taken.splice(0).reverse()) g.release();
  };
  for (const gate of gates) {
    const outcome = await gate.acquire(alive);
    if (outcome !== 'go') {
      release();
      return { outcome, release };
    }
    taken.push(gate);
  }
  return { outcome: 'go', release };
}

/**
 * A connection's budget of `subscribe` messages (subscriptions, and queries or mutations sent over
 * the socket): `perSecond` on average, up to `burst` at once. Checked before graphql-ws parses and
 * validates the document, so a client flooding subscribe/complete pairs costs a counter per message
 * instead of a parse, a validation and a plan (README: Live boards, limits).
 */
export class MessageBudget {
  private tokens: number;
  private at: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.at = now();
  }

  /** Takes one message's token; false when the budget is spent (the message is refused). */
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.at) / 1000) * this.perSecond);
    this.at = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Seconds until the next message would be accepted. */
  retryAfter(): number {
    return Math.max(1, Math.ceil((1 - this.tokens) / this.perSecond));
  }
}
