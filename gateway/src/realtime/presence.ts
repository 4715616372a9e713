/** Sends one presence change for a user on a project (online: a heartbeat; offline: the end). */
export type Heartbeat = (projectId: string, online: boolean) => Promise<unknown>;

interface Entry {
  /** Open watchers of the project for the user in this process. */
  count: number;
  /** The next heartbeat while the user is online here (its first one, then the repeating one). */
  timer: NodeJS.Timeout;
  /** How to send it: the latest watcher's (its connection is the freshest). */
  heartbeat: Heartbeat;
  /** Set while the last watcher has left and the offline waits out the grace. */
  leaving: NodeJS.Timeout | null;
}

/**
 * Presence while subscribed: one heartbeat loop per (user, project) in this process, however many
 * of the user's subscriptions watch that project. When the last one leaves, "offline" is sent after
 * `graceMs`, and not at all when the user watches the project again meanwhile: a page reload or a
 * board that resubscribes does not flash the user offline and online for everyone on the project,
 * and a client that churns its subscription costs no presence writes.
 *
 * Each loop's first repeat comes after a random part of the interval (then every interval): users
 * who joined together (a gateway restart reconnects everyone within seconds) do not send their
 * heartbeats together every interval for as long as they stay, but spread over it. No gap between
 * two heartbeats is longer than the interval.
 */
export class PresenceKeeper {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly heartbeatMs: number,
    private readonly graceMs = 0,
    /** In [0, 1): where in the interval a loop's first repeat falls (tests pass a fixed one). */
    private readonly random: () => number = Math.random,
  ) {}

  /** Counts one more watcher of the project for the user; the returned function ends it (once). */
  join(userId: string, projectId: string, heartbeat: Heartbeat): () => void {
    const key = `${userId}|${projectId}`;
    let entry = this.entries.get(key);
    if (entry) {
      entry.count++;
      entry.heartbeat = heartbeat;
      if (entry.leaving) {
        // back within the grace: still online for everyone, nothing to send
        clearTimeout(entry.leaving);
        entry.leaving = null;
      }
    } else {
      void heartbeat(projectId, true);
      const beat = () => void this.entries.get(key)?.heartbeat(projectId, true);
      // the first repeat somewhere in the interval, then every interval
      const first = setTimeout(
        () => {
          const e = this.entries.get(key);
          if (e?.timer !== first) return;
          beat();
          e.timer = setInterval(beat, this.heartbeatMs);
          e.timer.unref();
        },
        Math.max(1, Math.ceil((1 - this.random()) * this.heartbeatMs)),
      );
      first.unref();
      entry = { count: 1, timer: first, heartbeat, leaving: null };
      this.entries.set(key, entry);
    }
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const e = this.entries.get(key);
      if (!e || --e.count > 0) return;
      if (this.graceMs <= 0) return void this.offline(key, projectId, e);
      e.leaving = setTimeout(() => void this.offline(key, projectId, e), this.graceMs);
      e.leaving.unref();
    };
  }

  /** Users (per project) with a heartbeat loop here, including those within their grace. */
  get size(): number {
    return this.entries.size;
  }

  /** Ends every loop now, each with its offline sent (the gateway is stopping: no grace to wait out). */
  async flush(): Promise<void> {
    await Promise.all([...this.entries].map(([key, e]) => this.offline(key, key.slice(key.indexOf('|') + 1), e)));
  }

  private offline(key: string, projectId: string, e: Entry): Promise<unknown> | undefined {
    if (this.entries.get(key) !== e) return;
    clearTimeout(e.timer); // the first repeat's timeout or the interval: Node clears either
    if (e.leaving) clearTimeout(e.leaving);
    this.entries.delete(key);
    return e.heartbeat(projectId, false);
  }
}
