import { hostname } from 'node:os';
import { eventStream, type DomainEvent, type Logger, type Redis } from '@tm/kit';
import type { FileService } from '../file/file.service';

export const FILES_GROUP = 'files';
/** An event delivered to a files process that died before handling it is taken over after this long. */
const CLAIM_IDLE_MS = 30_000;
const STREAMS = [eventStream('tasks'), eventStream('projects')];

type StreamEntries = Array<[id: string, fields: string[] | null]>;

/**
 * Removes the files of deleted tasks (`TaskDeleted` on events:tasks) and deleted projects
 * (`ProjectDeleted` on events:projects): a consumer group shared by every files process,
 * at-least-once (acknowledged once handled; a dead consumer's pending events are claimed),
 * idempotent (removing removed files does nothing). Polls, never a blocking read.
 */
export class DeletionsConsumer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private groupsReady = false;
  private readonly consumer = `${hostname()}-${process.pid}`;

  constructor(
    private readonly redis: Redis,
    private readonly files: Pick<FileService, 'removeForTasks' | 'removeForProject'>,
    private readonly log: Logger,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.poll()
        .then(() => undefined)
        .catch((err: unknown) => this.log.debug({ err: (err as Error).message }, 'deletion events poll failed'))
        .finally(() => {
          this.running = null;
          if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
        });
    };
    tick();
  }

  private async ensureGroups(): Promise<void> {
    if (this.groupsReady) return;
    for (const stream of STREAMS) {
      try {
        // ioredis does not apply its key prefix to XGROUP's key; from the start: handling is idempotent
        await this.redis.xgroup('CREATE', `${this.redis.options.keyPrefix ?? ''}${stream}`, FILES_GROUP, '0', 'MKSTREAM');
      } catch (err) {
        if (!/BUSYGROUP/.test((err as Error).message)) throw err;
      }
    }
    this.groupsReady = true;
  }

  /** One round per stream: stale pending events taken over, this consumer's unacknowledged ones, new ones. */
  async poll(): Promise<number> {
    if (this.redis.status !== 'ready') return 0;
    await this.ensureGroups();
    let handled = 0;
    for (const stream of STREAMS) {
      const claimed = (await this.redis.xautoclaim(stream, FILES_GROUP, this.consumer, CLAIM_IDLE_MS, '0-0', 'COUNT', 100)) as [
        string,
        StreamEntries,
      ];
      handled += await this.handle(stream, claimed[1] ?? []);
      const mine = (await this.redis.xreadgroup(
        'GROUP',
        FILES_GROUP,
        this.consumer,
        'COUNT',
        100,
        'STREAMS',
        stream,
        '0',
      )) as Array<[string, StreamEntries]> | null;
      handled += await this.handle(stream, mine?.[0]?.[1] ?? []);
      const fresh = (await this.redis.xreadgroup(
        'GROUP',
        FILES_GROUP,
        this.consumer,
        'COUNT',
        200,
        'STREAMS',
        stream,
        '>',
      )) as Array<[string, StreamEntries]> | null;
      handled += await this.handle(stream, fresh?.[0]?.[1] ?? []);
    }
    return handled;
  }

  private async handle(stream: string, entries: StreamEntries): Promise<number> {
    let n = 0;
    for (const [id, fields] of entries) {
      if (fields) {
        const type = fields[fields.indexOf('type') + 1];
        if (type === 'TaskDeleted' || type === 'ProjectDeleted') {
          let event: DomainEvent | null = null;
          try {
            event = JSON.parse(fields[fields.indexOf('event') + 1] ?? '') as DomainEvent;
          } catch {
            this.log.warn({ streamId: id }, 'malformed event skipped');
          }
          if (event) {
            const actor = { userId: event.actorId, correlationId: event.correlationId };
            const { taskId, projectId } = event.payload as { taskId?: string; projectId?: string };
            // a failure throws before the ack: the event is read again next round
            if (type === 'TaskDeleted' && taskId) n += await this.files.removeForTasks([taskId], actor);
            if (type === 'ProjectDeleted' && projectId) n += await this.files.removeForProject(projectId, actor);
          }
        }
      }
      await this.redis.xack(stream, FILES_GROUP, id);
    }
    if (n) this.log.info({ stream, removed: n }, 'files of deleted tasks/projects removed');
    return n;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
