import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '@tm/tools/testing/processes';

const APP = path.join(REPO_ROOT, 'tools/live-board');

/**
 * The board's typed operations (src/gql) are generated from the committed public schema and the
 * operations in src: regenerated into a temp dir, they must equal what is committed. When this fails,
 * run `npm run codegen -w @tm/live-board` and commit src/gql.
 */
describe('live board codegen', () => {
  it('src/gql is what GraphQL Code Generator makes from schema/api.graphql and the operations', () => {
    const out = mkdtempSync(path.join(tmpdir(), 'tm-board-codegen-'));
    try {
      const r = spawnSync(
        process.execPath,
        [path.join(REPO_ROOT, 'node_modules/@graphql-codegen/cli/cjs/bin.js'), '--config', 'codegen.ts', '--silent'],
        {
          cwd: APP,
          env: { ...process.env, LIVE_BOARD_CODEGEN_OUT: `${out}/` },
          encoding: 'utf8',
        },
      );
      expect(r.stderr + r.stdout).not.toMatch(/error/i);
      expect(r.status).toBe(0);
      const committed = path.join(APP, 'src/gql');
      expect(readdirSync(out).sort()).toEqual(readdirSync(committed).sort());
      for (const file of readdirSync(out)) {
        expect({ file, text: readFileSync(path.join(committed, file), 'utf8') }).toEqual({
          file,
          text: readFileSync(path.join(out, file), 'utf8'),
        });
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});
