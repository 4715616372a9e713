import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Summarises a V8 `.cpuprofile`: self time per function and per package (node_modules/<pkg>, a
 * directory of this repository, or node's internals), the biggest first.
 * Usage: node tools/dist/bench/profile-top.js <file.cpuprofile> [rows]
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function owner(url: string): string {
  if (!url) return '(native/vm)';
  if (url.startsWith('node:')) return 'node:internal';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const parts = url.replace(/^file:\/\//, '').split(path.sep);
  const at = parts.findIndex((p) => ['gateway', 'subgraphs', 'tools'].includes(p));
  return at >= 0 ? parts.slice(at, at + 3).join('/') : url;
}

export function summarise(profile: Profile, rows = 25): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fn = new Map<string, number>();
  const pkg = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const f = n.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url ? `${owner(f.url)}:${path.basename(f.url)}:${f.lineNumber + 1}` : ''}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const p = f.url ? owner(f.url) : f.functionName.startsWith('(') ? f.functionName : '(native/vm)';
    pkg.set(p, (pkg.get(p) ?? 0) + us);
  }
  // inclusive: each sample counts once for every distinct function on its stack
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const incl = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      if (!f.url) continue;
      seen.add(`${f.functionName || '(anonymous)'} ${owner(f.url)}:${path.basename(f.url)}:${f.lineNumber + 1}`);
    }
    for (const k of seen) incl.set(k, (incl.get(k) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  // the longest stretches without an idle sample: what blocked the event loop the longest
  const stretches: Array<{ from: number; to: number; us: number }> = [];
  let from = 0;
  let busy = 0;
  profile.samples.forEach((id, i) => {
    if (byId.get(id)!.callFrame.functionName === '(idle)') {
      if (busy > 0) stretches.push({ from, to: i, us: busy });
      from = i + 1;
      busy = 0;
    } else busy += profile.timeDeltas[i] ?? 0;
  });
  if (busy > 0) stretches.push({ from, to: profile.samples.length, us: busy });
  const longest = stretches.sort((a, b) => b.us - a.us).slice(0, 4);
  const stretchText = longest.map((st) => {
    const m = new Map<string, number>();
    for (let i = st.from; i < st.to; i++) {
      const f = byId.get(profile.samples[i]!)!.callFrame;
      const key = `${f.functionName || '(anonymous)'} ${f.url ? `${owner(f.url)}:${path.basename(f.url)}:${f.lineNumber + 1}` : ''}`;
      m.set(key, (m.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
    }
    const at = profile.timeDeltas.slice(0, st.from).reduce((a, b) => a + b, 0) / 1e6;
    const lines = [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([k, v]) => `    ${((v / st.us) * 100).toFixed(1).padStart(5)} %  ${k}`);
    return [`  ${(st.us / 1000).toFixed(1)} ms busy at ${at.toFixed(1)} s:`, ...lines].join('\n');
  });
  const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
  const top = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, rows)
      .map(([k, us]) => `${pct(us)}  ${k}`)
      .join('\n');
  return [
    `profile: ${(total / 1e6).toFixed(1)} s of samples over ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s`,
    'self time by package:',
    top(pkg),
    'self time by function:',
    top(fn),
    'total time (self + callees) by function:',
    top(incl),
    'longest busy stretches (no idle sample) and their self time:',
    ...stretchText,
  ].join('\n');
}

if (require.main === module) {
  const [file, rows] = process.argv.slice(2);
  if (!file) {
    console.error('usage: profile-top.js <file.cpuprofile> [rows]');
    process.exit(2);
  }
  console.log(summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(rows ?? 25)));
}
