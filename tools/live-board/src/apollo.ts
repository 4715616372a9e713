import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, Observable, split, type FetchResult } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { createClient, type Client } from 'graphql-ws';
import { socketUrl } from './config';
import type { Session } from './session';

/** What the rest of the app hears about the live connection. */
export interface LiveEvents {
  /** The socket is (again) open: live updates are at-most-once, so the board refetches. */
  onConnected(first: boolean): void;
  onClosed(code: number): void;
}

const AUTH_EXPIRED = 'AUTH-002';

function hasCode(result: FetchResult, code: string): boolean {
  return (result.errors ?? []).some((e) => e.extensions?.code === code);
}

/**
 * HTTP for queries and mutations, graphql-ws for subscriptions, both with the session's token. An
 * AUTH-002 answer over HTTP refreshes the token once and sends the operation again; a socket closed for
 * its token (4403) reconnects with a refreshed one (connectionParams asks the session each time).
 */
export function createApollo(
  apiUrl: string,
  session: Session,
  live: LiveEvents,
): { client: ApolloClient<object>; socket: Client } {
  let connectedBefore = false;
  const socket = createClient({
    url: socketUrl(apiUrl),
    lazy: true,
    // the gateway closes with 4403 when the token expired or was revoked: refresh, then connect again
    connectionParams: async () => {
      const token = await session.freshAccessToken();
      return token ? { authorization: `Bearer ${token}` } : {};
    },
    retryAttempts: Infinity,
    shouldRetry: () => session.current !== null,
    retryWait: (retries) => new Promise((r) => setTimeout(r, Math.min(200 * 2 ** retries, 5000))),
    on: {
      connected: () => {
        live.onConnected(!connectedBefore);
        connectedBefore = true;
      },
      closed: (event) => {
        const code = (event as { code?: number }).code ?? 0;
        if (code === 4403) void session.refresh();
        live.onClosed(code);
      },
    },
  });

  const auth = new ApolloLink((operation, forward) => {
    const token = session.current?.accessToken;
    operation.setContext(({ headers = {} }: { headers?: Record<string, string> }) => ({
      headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    }));
    return forward(operation);
  });

  // one retry after a refresh: an access token that expired between two requests is no error for the user
  const refreshOnExpiry = new ApolloLink(
    (operation, forward) =>
      new Observable<FetchResult>((observer) => {
        let inner: { unsubscribe(): void } | undefined;
        let retried = false;
        const retry = (orElse: () => void) => {
          retried = true;
          inner?.unsubscribe();
          void session.refresh().then((tokens) => {
            if (!tokens) return orElse();
            operation.setContext(({ headers = {} }: { headers?: Record<string, string> }) => ({
              headers: { ...headers, authorization: `Bearer ${tokens.accessToken}` },
            }));
            inner = forward(operation).subscribe(observer);
          });
        };
        inner = forward(operation).subscribe({
          next: (result) =>
            !retried && session.current && hasCode(result, AUTH_EXPIRED)
              ? retry(() => {
                  observer.next(result);
                  observer.complete();
                })
              : observer.next(result),
          // the gateway answers an expired token with HTTP 401, which Apollo reports as a network error
          error: (err: unknown) => {
            const status = (err as { statusCode?: number }).statusCode;
            const result = (err as { result?: FetchResult }).result;
            if (!retried && session.current && (status === 401 || (result && hasCode(result, AUTH_EXPIRED))))
              retry(() => observer.error(err));
            else observer.error(err);
          },
          complete: () => {
            if (!retried) observer.complete();
          },
        });
        return () => inner?.unsubscribe();
      }),
  );

  const http = ApolloLink.from([refreshOnExpiry, auth, new HttpLink({ uri: apiUrl })]);
  const ws = new GraphQLWsLink(socket);
  const link = split(
    ({ query }) => {
      const def = getMainDefinition(query);
      return def.kind === 'OperationDefinition' && def.operation === 'subscription';
    },
    ws,
    http,
  );
  const client = new ApolloClient({
    link,
    cache: new InMemoryCache({
      typePolicies: {
        // a card's attachments and comment count are replaced by each answer, never merged
        Task: { fields: { attachments: { merge: false }, comments: { merge: false } } },
        Project: { fields: { onlineUsers: { merge: false }, members: { merge: false } } },
      },
    }),
  });
  return { client, socket };
}
