/** Sends one presence change for a user on a project (online: a heartbeat; offline: the end). */
export type Heartbeat = (projectId: string, online: boolean) => Promise<unknown>;

/**
 * Presence while subscribed: one heartbeat loop per (user, project) in this process, however many
 * of the user's subscriptions watch that project; the last one to leave says offline.
 */
export class PresenceKeeper {
  private readonly entries = new Map<string, { count: number; timer: NodeJS.Timeout }>();

  constructor(private readonly heartbeatMs: number) {}

  /** Counts one more watcher of the project for the user; the returned function ends it (once). */
  join(userId: string, projectId: string, heartbeat: Heartbeat): () => void {
    const key = `${userId}|${projectId}`;
    let entry = this.entries.get(key);
    if (entry) entry.count++;
    else {
      void heartbeat(projectId, true);
      const timer = setInterval(() => void heartbeat(projectId, true), this.heartbeatMs);
      timer.unref();
      entry = { count: 1, timer };
      this.entries.set(key, entry);
    }
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const e = this.entries.get(key);
      if (!e || --e.count > 0) return;
      clearInterval(e.timer);
      this.entries.delete(key);
      void heartbeat(projectId, false);
    };
  }
}
