import { print } from 'graphql';
import type { RefreshMutation } from './gql/graphql';
import { REFRESH } from './operations';

/**
 * The signed-in session: access and refresh tokens kept in sessionStorage (per tab, so two tabs never
 * share one single-use refresh token) and one refresh at a time for everyone who needs a fresh token
 * (the HTTP link and the socket may both notice an expired one at once; a second use of a rotated
 * refresh token would end the session).
 */
export interface SessionUser {
  id: string;
  name: string;
}

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  user: SessionUser;
}

type Listener = (tokens: Tokens | null) => void;

const KEY = 'tm.session';

export class Session {
  private tokens: Tokens | null;
  private refreshing: Promise<Tokens | null> | null = null;
  private readonly listeners = new Set<Listener>();
  /** How many refreshes succeeded in this tab (shown on the page for whoever watches it). */
  refreshes = 0;

  constructor(private readonly apiUrl: string) {
    const raw = sessionStorage.getItem(KEY);
    this.tokens = raw ? (JSON.parse(raw) as Tokens) : null;
  }

  get current(): Tokens | null {
    return this.tokens;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  set(tokens: Tokens | null): void {
    this.tokens = tokens;
    if (tokens) sessionStorage.setItem(KEY, JSON.stringify(tokens));
    else sessionStorage.removeItem(KEY);
    for (const l of this.listeners) l(tokens);
  }

  /** Seconds until the access token expires (from its `exp` claim; negative once expired). */
  secondsLeft(): number {
    if (!this.tokens) return -1;
    try {
      const payload = JSON.parse(atob(this.tokens.accessToken.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as {
        exp?: number;
      };
      return (payload.exp ?? 0) - Date.now() / 1000;
    } catch {
      return -1;
    }
  }

  /**
   * A new token pair from the refresh token, shared by every caller while one is in flight. A refusal
   * (reused or expired refresh token) signs out; a network failure keeps the session for a retry.
   */
  refresh(): Promise<Tokens | null> {
    if (this.refreshing) return this.refreshing;
    const refreshToken = this.tokens?.refreshToken;
    if (!refreshToken) return Promise.resolve(null);
    this.refreshing = (async () => {
      try {
        // plain fetch, not Apollo: this request must not pass through the link that is waiting for it
        const res = await fetch(this.apiUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ operationName: 'Refresh', query: print(REFRESH), variables: { refreshToken } }),
        });
        const body = (await res.json()) as { data?: RefreshMutation | null };
        const next = body.data?.refreshToken ?? null;
        if (!next) {
          this.set(null);
          return null;
        }
        this.refreshes += 1;
        this.set({ accessToken: next.accessToken, refreshToken: next.refreshToken, user: next.user });
        return this.tokens;
      } catch {
        return this.tokens;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /** The access token, refreshed first when it has (nearly) expired. */
  async freshAccessToken(): Promise<string | null> {
    if (this.refreshing) await this.refreshing;
    if (this.tokens && this.secondsLeft() < 2) await this.refresh();
    return this.tokens?.accessToken ?? null;
  }
}
