import WebSocket from 'ws';

/** What a subscription is told (graphql-ws's sink, minus what the bench does not use). */
export interface LeanSink<T> {
  next(payload: T): void;
  error(err: unknown): void;
  complete(): void;
}

/**
 * The bench subscribers' side of the graphql-transport-ws protocol (what graphql-ws's client
 * sends and expects: connection_init → connection_ack, subscribe / next / error / complete, pong
 * for ping), without graphql-ws's client machinery (its message validation, event emitters,
 * retry and lazy-connection logic), which cost the subscriber process as much CPU again as
 * parsing the messages. The load generator shares the 2-core machine with the stack it measures;
 * the messages on the wire are the same. Tests use graphql-ws's own client.
 *
 * The socket is ws without its permessage-deflate offer (the gateway accepts none, and ws keeps a
 * deflate context per connection for the offer) and without a second UTF-8 check of frames that
 * JSON.parse reads anyway.
 */
export class LeanClient {
  private readonly sinks = new Map<string, LeanSink<never>>();
  private seq = 0;
  private disposed = false;

  private constructor(private readonly ws: WebSocket) {}

  /** Connects and waits for the server's acknowledgement; rejects when the socket closes first. */
  static connect(url: string, connectionParams: Record<string, unknown>): Promise<LeanClient> {
    const ws = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false, skipUTF8Validation: true });
    const client = new LeanClient(ws);
    return new Promise((resolve, reject) => {
      let acked = false;
      ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: connectionParams })));
      ws.on('error', () => undefined); // its close follows
      ws.on('close', (code) => {
        if (!acked) return reject(new Error(`closed before connected: ${code}`));
        client.closed(code);
      });
      ws.on('message', (data: Buffer) => {
        const msg = JSON.parse(data.toString()) as { type: string; id?: string; payload?: unknown };
        switch (msg.type) {
          case 'connection_ack':
            acked = true;
            return resolve(client);
          case 'ping':
            return ws.send('{"type":"pong"}');
          case 'next':
            return client.sinks.get(msg.id!)?.next(msg.payload as never);
          case 'error': {
            const sink = client.sinks.get(msg.id!);
            client.sinks.delete(msg.id!);
            return sink?.error(msg.payload);
          }
          case 'complete': {
            const sink = client.sinks.get(msg.id!);
            client.sinks.delete(msg.id!);
            return sink?.complete();
          }
        }
      });
    });
  }

  /** Starts a subscription; the returned function completes it (as graphql-ws's `subscribe`). */
  subscribe<T>(payload: { query: string; variables?: Record<string, unknown> }, sink: LeanSink<T>): () => void {
    const id = String(++this.seq);
    this.sinks.set(id, sink as LeanSink<never>);
    this.ws.send(JSON.stringify({ id, type: 'subscribe', payload }));
    return () => {
      if (!this.sinks.delete(id) || this.ws.readyState !== WebSocket.OPEN) return;
      this.ws.send(JSON.stringify({ id, type: 'complete' }));
    };
  }

  /** Closes the socket (1000) and waits until it is closed. */
  dispose(): Promise<void> {
    this.disposed = true;
    this.sinks.clear();
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close(1000, 'Normal Closure');
    });
  }

  /** The server closed the socket: every subscription still open ends with an error (graphql-ws does the same). */
  private closed(code: number): void {
    if (this.disposed) return;
    const sinks = [...this.sinks.values()];
    this.sinks.clear();
    for (const sink of sinks) sink.error(new Error(`socket closed: ${code}`));
  }
}
