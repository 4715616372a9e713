import { spawnSync } from 'node:child_process';
import path from 'node:path';

/**
 * `node tools/dist/create-admin.js [--promote]`: creates the first (or a recovery) administrator.
 * Runs the users service's own command (subgraphs/users/dist/create-admin.js) rather than
 * importing a domain subgraph into tools; reads ADMIN_EMAIL / ADMIN_PASSWORD (and MONGO_URL,
 * MONGO_DB, REDIS_URL, REDIS_PREFIX) from the environment.
 */
const script = path.resolve(__dirname, '../../subgraphs/users/dist/create-admin.js');
const r = spawnSync(process.execPath, [script, ...process.argv.slice(2)], { stdio: 'inherit', env: process.env });
process.exit(r.status ?? 1);
