import { randomUUID } from 'node:crypto';
import { CONTEXT_HEADER, signContext } from '@tm/kit/infra';

export interface GqlResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, unknown> }>;
}

export interface GqlOptions {
  token?: string;
  headers?: Record<string, string>;
  /**
   * Sends a context signed as the gateway would: for this service and exactly this request's body
   * (a subgraph refuses a context signed for another service or body).
   */
  sign?: { service: string; secret: string; user: SignAs; now?: number };
}

/** Who a directly signed request speaks for. */
export interface SignAs {
  userId: string | null;
  roles: string[];
  sessionId?: string | null;
  correlationId?: string;
  clientIp?: string | null;
}

/** A plain HTTP GraphQL client, as a frontend would use it. */
export async function gql<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  opts: GqlOptions = {},
): Promise<GqlResponse<T>> {
  const payload = JSON.stringify({ query, variables });
  const signed: Record<string, string> = opts.sign
    ? {
        [CONTEXT_HEADER]: signContext(
          { sessionId: null, correlationId: randomUUID(), ...opts.sign.user },
          opts.sign.secret,
          { service: opts.sign.service, body: payload },
          opts.sign.now,
        ),
      }
    : {};
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...signed,
      ...opts.headers,
    },
    body: payload,
  });
  const text = await res.text();
  let body: { data?: T | null; errors?: GqlResponse['errors'] } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = { errors: [{ message: text }] };
  }
  return { status: res.status, headers: res.headers, ...body };
}

/** The first error's code, for assertions. */
export function errorCode(res: GqlResponse<unknown>): unknown {
  return res.errors?.[0]?.extensions?.code;
}

/** The data of a response, or a thrown error with its errors. */
export function data<T>(r: GqlResponse): T {
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data as T;
}

/** A request through the gateway at `url` as a signed-in user (its access token). */
export const as = (url: string, u: { token: string }, query: string, variables: Record<string, unknown> = {}) =>
  gql(url, query, variables, { token: u.token });
