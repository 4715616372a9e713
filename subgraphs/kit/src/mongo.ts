import mongoose from 'mongoose';
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

export interface MongoOptions {
  url: string;
  dbName: string;
  log: Logger;
  /** Models whose indexes are created once connected. */
  models?: ReadonlyArray<{ createIndexes(): Promise<unknown> }>;
  serverSelectionTimeoutMS?: number;
  /** Counts every command sent to the store (round trips), by name. */
  commandCounter?: { inc(labels: { command: string }): void };
}

/**
 * Connects mongoose (the default connection, which typegoose models use) and keeps trying with
 * capped backoff until it succeeds; the driver then reconnects by itself after outages.
 */
export function connectMongo(opts: MongoOptions): MongoHandle {
  let closed = false;
  const connection = mongoose.connection;
  const ready = (async () => {
    for (let attempt = 1; !closed; attempt++) {
      try {
        await mongoose.connect(opts.url, {
          dbName: opts.dbName,
          serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS ?? 2000,
          maxPoolSize: 20,
          monitorCommands: Boolean(opts.commandCounter),
        });
        if (opts.commandCounter) {
          const counter = opts.commandCounter;
          connection.getClient().on('commandStarted', (e: { commandName: string }) => counter.inc({ command: e.commandName }));
        }
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

/** Pings the store; false when it does not answer within the timeout. */
export async function pingMongo(conn: mongoose.Connection, timeoutMs = 1000): Promise<boolean> {
  if (conn.readyState !== 1 || !conn.db) return false;
  const ping = conn.db.admin().command({ ping: 1 }).then(() => true, () => false);
  const timeout = new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref());
  return Promise.race([ping, timeout]);
}
