import mongoose from 'mongoose';
import type { mongo } from 'mongoose';
import type { Logger } from './logger';
import { retryDelay } from './backoff';

// Never queue commands while disconnected: a down store must give DB-001 at once, not a hang.
mongoose.set('bufferCommands', false);
mongoose.set('autoIndex', false);
mongoose.set('autoCreate', false);

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
          monitorCommands: Boolean(opts.commandCounter || opts.commandDuration),
        });
        monitorCommands(connection.getClient(), opts);
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
  const ping = conn.db.admin().command({ ping: 1 }).then(() => true, () => false);
  const timeout = new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref());
  return Promise.race([ping, timeout]);
}
