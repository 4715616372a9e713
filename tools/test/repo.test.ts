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
