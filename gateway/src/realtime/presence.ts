/** Sends one presence change for a user on a project (online: a heartbeat; offline: the end). */
export type Heartbeat = (projectId: string, online: boolean) => Promise<unknown>;

interface Entry {
  /** Open watchers of the project for the user in this process. */
  count: number;
  /** The repeating heartbeat while the user is online here. */
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
 */
export class PresenceKeeper {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly heartbeatMs: number,
    private readonly graceMs = 0,
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
      const timer = setInterval(() => void this.entries.get(key)?.heartbeat(projectId, true), this.heartbeatMs);
      timer.unref();
      entry = { count: 1, timer, heartbeat, leaving: null };
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
    clearInterval(e.timer);
    if (e.leaving) clearTimeout(e.leaving);
    this.entries.delete(key);
    return e.heartbeat(projectId, false);
  }
}
