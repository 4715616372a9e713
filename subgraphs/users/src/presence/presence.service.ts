import { AppError, ErrorCode, type PermissionsClient } from '@tm/kit/contracts';
import { type LivePublisher, type Logger, type Redis, RedisKeys } from '@tm/kit/infra';
import { UserModel } from '../user/user.model';

/** The holder of heartbeats sent without a `clientId`. */
export const DEFAULT_HOLDER = 'api';

/**
 * Leaves for one holder, atomically: drops it (and expired holders); the user leaves the project
 * only when no holder is left. KEYS: holders, project presence. ARGV: holder, now (ms), userId.
 * Returns -1 while another holder keeps them online, else ZREM's answer (1: they were online).
 */
const LEAVE_SCRIPT = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) > 0 then return -1 end
return redis.call('ZREM', KEYS[2], ARGV[3])
`;

/**
 * Who is online where (README: Live boards): heartbeats keep a user online in a project for
 * `ttlSeconds`; going online or offline (by leaving or by expiry) is published live as
 * `presenceChanged`. Each heartbeat names its holder (a gateway process for its subscribers, or the
 * client's own `clientId`): a user stays online while any holder does, so one gateway's offline
 * does not end what another gateway's subscription of the same user keeps. All state is in Redis,
 * shared by every process; a removal from the sorted set succeeds in exactly one process, so each
 * change is announced once.
 */
export class PresenceService {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly live: LivePublisher,
    private readonly permissions: PermissionsClient,
    private readonly log: Logger,
    private readonly ttlSeconds: number,
  ) {}

  /**
   * Marks the user online (or, with `online` false, offline) in a project they belong to, for
   * `holder`; offline only once no other holder keeps them online.
   */
  async heartbeat(userId: string, projectId: string, online: boolean, holder = DEFAULT_HOLDER): Promise<boolean> {
    if (!(await this.permissions.access(userId, projectId)))
      throw new AppError(ErrorCode.NotFound, 'Project not found or no access');
    if (!online) return this.leave(userId, projectId, holder);
    const expires = Date.now() + this.ttlSeconds * 1000;
    const holders = RedisKeys.presenceHolders(projectId, userId);
    const [[, added]] = (await this.redis
      .multi()
      .zadd(RedisKeys.projectPresence(projectId), expires, userId)
      .zadd(holders, expires, holder)
      .expire(holders, this.ttlSeconds * 2)
      .zadd(RedisKeys.userPresence(userId), expires, projectId)
      .expire(RedisKeys.userPresence(userId), this.ttlSeconds * 2)
      .set(RedisKeys.presence(userId), '1', 'EX', this.ttlSeconds)
      .sadd(RedisKeys.presenceProjects(), projectId)
      .exec()) as Array<[Error | null, number]>;
    if (added === 1) await this.announce(userId, projectId, true);
    if ((await this.redis.set(`presence:seen:${userId}`, '1', 'EX', 60, 'NX')) === 'OK') {
      await UserModel.updateOne({ _id: userId }, { $set: { lastSeenAt: new Date() } });
    }
    return true;
  }

  async leave(userId: string, projectId: string, holder = DEFAULT_HOLDER): Promise<boolean> {
    const removed = (await this.redis.eval(
      LEAVE_SCRIPT,
      2,
      RedisKeys.presenceHolders(projectId, userId),
      RedisKeys.projectPresence(projectId),
      holder,
      String(Date.now()),
      userId,
    )) as number;
    if (removed === -1) return true; // still online through another holder
    await this.dropFromUser(userId, projectId);
    if (removed === 1) await this.announce(userId, projectId, false);
    return true;
  }

  /** Users online in a project now. */
  async online(projectId: string): Promise<string[]> {
    return this.redis.zrangebyscore(RedisKeys.projectPresence(projectId), Date.now(), '+inf');
  }

  /** Announces and removes expired presences; safe to run in every process at once. */
  async sweep(): Promise<number> {
    const now = Date.now();
    let n = 0;
    for (const projectId of await this.redis.smembers(RedisKeys.presenceProjects())) {
      const key = RedisKeys.projectPresence(projectId);
      for (const userId of await this.redis.zrangebyscore(key, '-inf', now)) {
        if ((await this.redis.zrem(key, userId)) === 1) {
          await this.dropFromUser(userId, projectId);
          await this.announce(userId, projectId, false);
          n++;
        }
      }
      if ((await this.redis.zcard(key)) === 0) await this.redis.srem(RedisKeys.presenceProjects(), projectId);
    }
    return n;
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.sweep().catch((err: unknown) => this.log.debug({ err }, 'presence sweep failed'));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Keeps `User.online` true only while the user is online somewhere. */
  private async dropFromUser(userId: string, projectId: string): Promise<void> {
    await this.redis.zrem(RedisKeys.userPresence(userId), projectId);
    if ((await this.redis.zcount(RedisKeys.userPresence(userId), Date.now(), '+inf')) === 0)
      await this.redis.del(RedisKeys.presence(userId));
  }

  private announce(userId: string, projectId: string, online: boolean): Promise<void> {
    return this.live.publish('presenceChanged', projectId, { userId, projectId, online });
  }
}
