import { ApolloError } from '@apollo/client';

/** The first `extensions.code` of an error from Apollo (GraphQL errors, or a network error's body). */
export function errorCode(err: unknown): string | undefined {
  if (err instanceof ApolloError) {
    const gql = err.graphQLErrors.find((e) => e.extensions?.code);
    if (gql) return String(gql.extensions!.code);
    const body = (err.networkError as { result?: { errors?: Array<{ extensions?: { code?: string } }> } } | null)?.result;
    return body?.errors?.find((e) => e.extensions?.code)?.extensions?.code;
  }
  const list = Array.isArray(err) ? err : (err as { errors?: unknown[] } | null)?.errors;
  if (Array.isArray(list))
    return (
      list.find((e) => (e as { extensions?: { code?: string } }).extensions?.code) as { extensions: { code: string } } | undefined
    )?.extensions.code;
  return (err as { extensions?: { code?: string } } | null)?.extensions?.code;
}

/** The message to show for an error: the server's safe message, or a network failure's. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApolloError) return err.graphQLErrors[0]?.message ?? err.networkError?.message ?? err.message;
  return err instanceof Error ? err.message : String(err);
}

/** Initials for an avatar: first letters of the first two words. */
export function initials(name: string): string {
  return name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0]!.toUpperCase())
    .join('');
}

/** A stable hue per user, so an avatar keeps its colour everywhere. */
export function hue(id: string): number {
  let h = 0;
  for (const c of id) h = (h * 31 + c.charCodeAt(0)) % 360;
  return h;
}
