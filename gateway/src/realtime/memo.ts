/**
 * Answers shared for a few seconds by everyone asking the same thing, e.g. about one live event:
 * the first caller computes, the others (subscribers of the same event) get the same promise.
 *
 * Entries live in two generations: new ones go into the current map, which becomes the previous
 * one every `ttlMs` (or once it holds `maxEntries`), and the previous one is then dropped whole. So
 * an entry is answered for `ttlMs` at most and forgotten within `2 × ttlMs`, at a constant cost per
 * call, however many events a second arrive (a sweep of every entry on each call, as before, made
 * 20 events a second to 1,000 subscribers quadratic).
 */
export class EventMemo<T> {
  private current = new Map<string, { at: number; value: Promise<T> }>();
  private previous = new Map<string, { at: number; value: Promise<T> }>();
  private rotatedAt = Date.now();

  constructor(
    private readonly ttlMs = 5000,
    private readonly maxEntries = 50_000,
  ) {}

  get(key: string, compute: () => Promise<T>): Promise<T> {
    const now = Date.now();
    if (now - this.rotatedAt >= this.ttlMs || this.current.size >= this.maxEntries) {
      this.previous = this.current;
      this.current = new Map();
      this.rotatedAt = now;
    }
    const hit = this.current.get(key) ?? this.previous.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    const value = compute();
    this.current.set(key, { at: now, value });
    return value;
  }
}
