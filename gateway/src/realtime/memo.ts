/**
 * Answers shared for a few seconds by everyone asking the same thing, e.g. about one live event:
 * the first caller computes, the others (subscribers of the same event) get the same promise.
 */
export class EventMemo<T> {
  private readonly entries = new Map<string, { at: number; value: Promise<T> }>();

  constructor(
    private readonly ttlMs = 5000,
    private readonly maxEntries = 2000,
  ) {}

  get(key: string, compute: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    const value = compute();
    this.entries.set(key, { at: now, value });
    if (this.entries.size > this.maxEntries)
      for (const [k, v] of this.entries) if (now - v.at > this.ttlMs) this.entries.delete(k);
    return value;
  }
}
