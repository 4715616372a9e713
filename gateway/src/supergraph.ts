import { readFileSync, watch } from 'node:fs';
import type { SupergraphSdlHook } from '@apollo/gateway';
import type { Logger } from '@tm/kit/infra';

export interface SubgraphInfo {
  name: string;
  url: string;
}

/** The subgraphs named in a supergraph's `join__Graph` enum. */
export function subgraphsOf(sdl: string): SubgraphInfo[] {
  const out: SubgraphInfo[] = [];
  const re = /@join__graph\(name:\s*"([^"]+)",\s*url:\s*"([^"]*)"\)/g;
  for (let m = re.exec(sdl); m; m = re.exec(sdl)) out.push({ name: m[1]!, url: m[2]! });
  return out;
}

/**
 * Serves the committed supergraph file to @apollo/gateway and hands it a new one whenever the
 * file changes (a bad file is logged and the running schema kept).
 */
export function fileSupergraph(file: string, log: Logger, onLoad: (sdl: string) => void): SupergraphSdlHook {
  return async ({ update }) => {
    const initial = readFileSync(file, 'utf8');
    onLoad(initial);
    let timer: NodeJS.Timeout | undefined;
    let last = initial;
    const watcher = watch(file, () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        try {
          const next = readFileSync(file, 'utf8');
          if (next === last || !next.trim()) return;
          update(next);
          last = next;
          onLoad(next);
          log.info('supergraph reloaded');
        } catch (err) {
          log.error({ err }, 'supergraph reload failed; keeping the running schema');
        }
      }, 200);
    });
    return {
      supergraphSdl: initial,
      cleanup: async () => {
        clearTimeout(timer);
        watcher.close();
      },
    };
  };
}
