import { builtinModules } from 'node:module';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '@tm/tools/compose';

/** Every copy of a package under node_modules (nested ones included). */
function copiesOf(pkg: string, dir = path.join(REPO_ROOT, 'node_modules'), depth = 0): string[] {
  const found: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return found;
  }
  for (const name of entries) {
    const full = path.join(dir, name);
    if (name.startsWith('@')) {
      found.push(...copiesOf(pkg, full, depth));
      continue;
    }
    if (path.relative(path.join(REPO_ROOT, 'node_modules'), full).replace(/^(.*node_modules\/)/, '') === pkg) found.push(full);
    const nested = path.join(full, 'node_modules');
    if (depth < 6 && statSync(full, { throwIfNoEntry: false })?.isDirectory()) found.push(...copiesOf(pkg, nested, depth + 1));
  }
  return found;
}

describe('repository', () => {
  it('has exactly one copy of graphql, and it is 16', () => {
    const copies = copiesOf('graphql');
    expect(copies).toHaveLength(1);
    const { version } = JSON.parse(readFileSync(path.join(copies[0]!, 'package.json'), 'utf8')) as { version: string };
    expect(version).toMatch(/^16\./);
  });
});

/** Files under `dir` (recursively) whose name ends with `suffix`. */
function filesUnder(dir: string, suffix: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...filesUnder(full, suffix));
    else if (name.endsWith(suffix)) out.push(full);
  }
  return out;
}

/** Variables the gateway sets for its libraries (it does not read them). */
const SET_NOT_READ = new Set(['APOLLO_TELEMETRY_DISABLED', 'METADATA_SERVER_DETECTION']);

describe('README', () => {
  it('has a table row for every environment variable the services read', () => {
    const sources = [
      path.join(REPO_ROOT, 'gateway/src'),
      ...readdirSync(path.join(REPO_ROOT, 'subgraphs')).map((s) => path.join(REPO_ROOT, 'subgraphs', s, 'src')),
    ].filter((d) => statSync(d, { throwIfNoEntry: false })?.isDirectory());
    const read = new Set<string>();
    for (const file of sources.flatMap((d) => filesUnder(d, '.ts'))) {
      const text = readFileSync(file, 'utf8');
      // config schemas: `  NAME: z.…` (every service parses its environment through one)
      if (file.endsWith('config.ts')) for (const m of text.matchAll(/^\s+([A-Z][A-Z0-9_]{2,}):\s*z\./gm)) read.add(m[1]!);
      for (const m of text.matchAll(/process\.env\.([A-Z][A-Z0-9_]+)/g)) if (!SET_NOT_READ.has(m[1]!)) read.add(m[1]!);
    }
    // per-service ports: `<NAME>_PORT` for every subgraph in the list
    const list = JSON.parse(readFileSync(path.join(REPO_ROOT, 'schema/subgraphs.json'), 'utf8')) as {
      subgraphs: Array<{ name: string; servedBy?: string }>;
    };
    for (const s of list.subgraphs) if (!s.servedBy) read.add(`${s.name.toUpperCase()}_PORT`);
    const rows = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('|'))
      .join('\n');
    expect(read.size).toBeGreaterThan(50);
    expect([...read].filter((name) => !rows.includes(`\`${name}\``)).sort()).toEqual([]);
  });
});

/** The package an import specifier names (`@scope/name/sub` → `@scope/name`), or null for relative and built-in ones. */
function packageOf(spec: string): string | null {
  if (
    spec.startsWith('.') ||
    spec.startsWith('node:') ||
    builtinModules.includes(spec) ||
    builtinModules.includes(spec.split('/')[0]!)
  )
    return null;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

describe('workspaces', () => {
  it('declare every package they import (src: dependencies; test: dependencies or devDependencies)', () => {
    const root = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { workspaces: string[] };
    const undeclared: string[] = [];
    for (const ws of root.workspaces) {
      const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, ws, 'package.json'), 'utf8')) as {
        name: string;
        dependencies?: Record<string, string>;
        devDependencies?: Record<string, string>;
        peerDependencies?: Record<string, string>;
      };
      const runtime = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {}), pkg.name]);
      const dev = new Set(Object.keys(pkg.devDependencies ?? {}));
      for (const kind of ['src', 'test'] as const) {
        const dir = path.join(REPO_ROOT, ws, kind);
        if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) continue;
        for (const file of filesUnder(dir, '.ts')) {
          const text = readFileSync(file, 'utf8');
          for (const m of text.matchAll(/(?:from\s+|require\(\s*|import\(\s*|^import\s+)['"]([^'"]+)['"]/gm)) {
            const name = packageOf(m[1]!);
            if (!name || runtime.has(name) || (kind === 'test' && dev.has(name))) continue;
            undeclared.push(`${path.relative(REPO_ROOT, file)}: ${name}`);
          }
        }
      }
    }
    expect(undeclared).toEqual([]);
  });
});
