/**
 * Where the gateway is, decided at run time so one build serves any stack: `?api=<http url>` (kept for
 * the tab in sessionStorage), else `config.json` beside the page (written by the board's server), else
 * port 4000 on the page's host.
 */
export async function resolveApiUrl(): Promise<string> {
  const fromQuery = new URLSearchParams(window.location.search).get('api');
  if (fromQuery) {
    sessionStorage.setItem('tm.api', fromQuery);
    return fromQuery;
  }
  const kept = sessionStorage.getItem('tm.api');
  if (kept) return kept;
  try {
    const res = await fetch('config.json', { cache: 'no-store' });
    if (res.ok) {
      const body = (await res.json()) as { api?: unknown };
      if (typeof body.api === 'string' && body.api) return body.api;
    }
  } catch {
    /* no config.json: served by a plain static server */
  }
  return `${window.location.protocol}//${window.location.hostname}:4000/graphql`;
}

/** The graphql-ws URL of the same endpoint (same path, ws:// or wss://). */
export function socketUrl(httpUrl: string): string {
  const url = new URL(httpUrl, window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}
