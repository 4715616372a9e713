import mongoose from 'mongoose';
import type { mongo } from 'mongoose';
import type { Logger } from './logger';
import { retryDelay } from './backoff';
import { AppError, ErrorCode, isStoreUnavailable } from '../contracts/errors';

// Never queue commands while disconnected: a down store must give DB-001 at once, not a hang.
mongoose.set('bufferCommands', false);
mongoose.set('autoIndex', false);
mongoose.set('autoCreate', false);

/**
 * A store that hangs: a command that failed because the store did not answer (a socket timeout, a
 * closed or cleared connection) makes the breaker ping the store. Model operations started
 * meanwhile wait for that ping: answered (a slow moment of a store that is up), they go on; not
 * answered within the store timeout, the breaker opens and they, and every model operation after
 * them, fail at once with DB-001 instead of each spending its own timeout plus the driver's retry
 * and server selection (a createTask meets several store calls in a row: without this, up to ~10 s
 * per request on a busy machine while the store hung), until a ping is answered again. Commands
 * already sent finish or time out as before; nothing is written while the breaker is open.
 */
class StoreBreaker {
  private openSince: number | null = null;
  /** The ping after a failure, while its answer is awaited. */
  private suspect: Promise<boolean> | null = null;

  get open(): boolean {
    return this.openSince !== null;
  }

  trip(err: unknown, conn: mongoose.Connection, timeoutMs: number, log: Logger): void {
    if (!isStoreUnavailable(err) || this.suspect || this.openSince !== null) return;
    const suspect = pingMongo(conn, timeoutMs);
    this.suspect = suspect;
    void suspect.then(async (answered) => {
      if (!answered) {
        this.openSince = Date.now();
        log.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'store not answering: failing store calls fast until it does',
        );
      }
      this.suspect = null;
      if (answered) return;
      while (!(await pingMongo(conn, timeoutMs))) await new Promise((r) => setTimeout(r, 250).unref());
      log.info({ openMs: Date.now() - (this.openSince ?? Date.now()) }, 'store answers again');
      this.openSince = null;
    });
  }

  /** Closes without a probe (a new connection). */
  reset(): void {
    this.openSince = null;
  }

  /** Before a model operation: fails when open, waits while a ping decides. */
  guard(): Promise<void> | void {
    if (this.openSince !== null) throw unavailable();
    if (this.suspect) {
      return this.suspect.then((answered) => {
        if (!answered) throw unavailable();
      });
    }
  }
}

const unavailable = () => new AppError(ErrorCode.DatabaseUnavailable, 'Database unavailable, try again shortly');

/** The process's store breaker (one mongoose connection per process). */
export const storeBreaker = new StoreBreaker();

const QUERY_OPS = [
  'countDocuments',
  'deleteMany',
  'deleteOne',
  'distinct',
  'estimatedDocumentCount',
  'find',
  'findOne',
  'findOneAndDelete',
  'findOneAndReplace',
  'findOneAndUpdate',
  'replaceOne',
  'updateMany',
  'updateOne',
] as const;

// every model operation checks the breaker before it is sent (registered when the kit is loaded,
// before any model is compiled: models import the kit)
mongoose.plugin((schema) => {
  const guard = () => storeBreaker.guard();
  schema.pre([...QUERY_OPS], guard);
  schema.pre('save', guard);
  schema.pre('insertMany', guard);
  schema.pre('bulkWrite', guard);
  schema.pre('aggregate', guard);
});

export interface MongoHandle {
  connection: mongoose.Connection;
  /** Resolves when the first connection succeeded (it keeps retrying until `close`). */
  ready: Promise<void>;
  isUp(): boolean;
  close(): Promise<void>;
}

/** Where the driver's command monitoring reports to (both optional; neither: no monitoring). */
export interface CommandMetrics {
  /** Counts every command sent to the store (round trips), by name. */
  commandCounter?: { inc(labels: { command: string }): void };
  /** Observes every command's duration in seconds (sent to reply), by name and collection. */
  commandDuration?: { observe(labels: { command: string; collection: string }, seconds: number): void };
}

export interface MongoOptions extends CommandMetrics {
  url: string;
  dbName: string;
  log: Logger;
  /** Models whose indexes are created once connected. */
  models?: ReadonlyArray<{ createIndexes(): Promise<unknown> }>;
  serverSelectionTimeoutMS?: number;
  /**
   * Bound of every store call (MONGO_TIMEOUT_MS, default 2 s): socket reads, connecting, server
   * selection, and `maxTimeMS` on queries, so a store that hangs gives DB-001 instead of a wait.
   */
  timeoutMS?: number;
}

/** Default bound of one store call (MONGO_TIMEOUT_MS). */
export const MONGO_TIMEOUT_MS = 2000;

/**
 * Connects mongoose (the default connection, which typegoose models use) and keeps trying with
 * capped backoff until it succeeds; the driver then reconnects by itself after outages.
 */
export function connectMongo(opts: MongoOptions): MongoHandle {
  let closed = false;
  const connection = mongoose.connection;
  const timeout = opts.timeoutMS ?? MONGO_TIMEOUT_MS;
  // server-side bound of queries (find, aggregate, count, …); the socket timeout bounds the rest
  mongoose.set('maxTimeMS', timeout);
  const ready = (async () => {
    for (let attempt = 1; !closed; attempt++) {
      try {
        await mongoose.connect(opts.url, {
          dbName: opts.dbName,
          serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS ?? timeout,
          // a store that accepts connections but never answers (frozen, overloaded): fail, not hang
          socketTimeoutMS: timeout,
          connectTimeoutMS: timeout,
          maxPoolSize: 20,
          // command events feed the metrics and the store breaker
          monitorCommands: true,
        });
        storeBreaker.reset();
        monitorCommands(connection.getClient(), opts);
        connection
          .getClient()
          .on('commandFailed', (e: mongo.CommandFailedEvent) => storeBreaker.trip(e.failure, connection, timeout, opts.log));
        for (const m of opts.models ?? []) await m.createIndexes();
        opts.log.info({ dbName: opts.dbName }, 'mongo connected');
        return;
      } catch (err) {
        if (closed) return;
        opts.log.warn({ attempt, err: (err as Error).message }, 'mongo connect failed, retrying');
        await mongoose.disconnect().catch(() => undefined);
        await new Promise((r) => setTimeout(r, retryDelay(attempt)));
      }
    }
  })();
  connection.on('disconnected', () => !closed && opts.log.warn('mongo disconnected'));
  connection.on('reconnected', () => opts.log.info('mongo reconnected'));
  return {
    connection,
    ready,
    isUp: () => connection.readyState === 1,
    close: async () => {
      closed = true;
      await mongoose.disconnect();
    },
  };
}

/** The collection a command works on; '' for commands on none (ping, hello, endSessions, …). */
export function commandCollection(commandName: string, command: mongo.Document): string {
  const target = command[commandName];
  if (typeof target === 'string') return target;
  return commandName === 'getMore' && typeof command.collection === 'string' ? command.collection : '';
}

/** In-flight commands kept for their collection label at most; more means replies were lost. */
const MAX_IN_FLIGHT = 10_000;

/**
 * Feeds the driver's command monitoring into the metrics: a count per command (round trips) and
 * the time each one took, by command and collection, so a slow query shows which one it is.
 */
export function monitorCommands(client: mongo.MongoClient, metrics: CommandMetrics): void {
  const { commandCounter, commandDuration } = metrics;
  if (!commandCounter && !commandDuration) return;
  // the reply events carry the duration but not the command: remember its collection meanwhile
  const inFlight = new Map<number, string>();
  client.on('commandStarted', (e: mongo.CommandStartedEvent) => {
    commandCounter?.inc({ command: e.commandName });
    if (!commandDuration) return;
    if (inFlight.size >= MAX_IN_FLIGHT) inFlight.clear();
    inFlight.set(e.requestId, commandCollection(e.commandName, e.command));
  });
  if (!commandDuration) return;
  const finished = (e: mongo.CommandSucceededEvent | mongo.CommandFailedEvent) => {
    const collection = inFlight.get(e.requestId) ?? '';
    inFlight.delete(e.requestId);
    commandDuration.observe({ command: e.commandName, collection }, e.duration / 1000);
  };
  client.on('commandSucceeded', finished);
  client.on('commandFailed', finished);
}

/** A filter value matching any of `values`: plain equality for one value, `$in` for several. */
export function anyOf<T>(values: readonly T[]): T | { $in: T[] } {
  return values.length === 1 ? values[0]! : { $in: [...values] };
}

/** Pings the store; false when it does not answer within the timeout. */
export async function pingMongo(conn: mongoose.Connection, timeoutMs = 1000): Promise<boolean> {
  if (conn.readyState !== 1 || !conn.db) return false;
  const ping = conn.db
    .admin()
    .command({ ping: 1 })
    .then(
      () => true,
      () => false,
    );
  const timeout = new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref());
  return Promise.race([ping, timeout]);
}
