import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { CONTEXT_HEADER, CORRELATION_HEADER, ERROR_CODES, signContext } from '@tm/kit';
import type { FetcherResponse } from '@apollo/utils.fetcher';
import { GraphQLError } from 'graphql';
import { Agent, fetch as undiciFetch } from 'undici';
import type { GatewayContext } from './context';

/** One keep-alive connection pool for every subgraph fetch of this process. */
export function createSubgraphFetcher(timeoutMs: number) {
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 128, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const fetcher = (url: string, init?: object) => undiciFetch(url, { ...init, dispatcher: agent } as Parameters<typeof undiciFetch>[1]);
  return { fetcher, close: () => agent.close() };
}

/**
 * Sends each subgraph request with the user context signed by the gateway (DESIGN.md §3.4).
 * Nothing from the client's own headers is forwarded, so a client cannot claim an identity.
 */
export class SignedDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    options: ConstructorParameters<typeof RemoteGraphQLDataSource<GatewayContext>>[0],
    private readonly secret: string,
  ) {
    super(options);
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const headers = request.http?.headers;
    if (!headers) return;
    const ctx = context as Partial<GatewayContext>;
    const correlationId = ctx.correlationId ?? 'internal';
    const user = ctx.user ?? { userId: null, roles: [], sessionId: null };
    headers.set(CONTEXT_HEADER, signContext({ ...user, correlationId, clientIp: ctx.clientIp ?? null }, this.secret));
    headers.set(CORRELATION_HEADER, correlationId);
  }

  /**
   * A subgraph that refuses a whole request (HTTP 4xx, e.g. a variable its scalar rejects) still
   * says why with a coded error: pass that on instead of a bare "400: Bad Request".
   */
  override async errorFromResponse(response: FetcherResponse): Promise<GraphQLError> {
    const fallback = await super.errorFromResponse(response);
    const body = (fallback.extensions?.response as { body?: { errors?: Array<{ message?: string; extensions?: Record<string, unknown> }> } } | undefined)?.body;
    const first = typeof body === 'object' ? body?.errors?.[0] : undefined;
    const code = first?.extensions?.code;
    if (typeof code === 'string' && ERROR_CODES.has(code) && first?.message) {
      return new GraphQLError(first.message, { extensions: { code, ...(first.extensions?.field ? { field: first.extensions.field } : {}) } });
    }
    return fallback;
  }
}
