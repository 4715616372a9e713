import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { findBinary, MissingBinaryError } from '../devstack';
import { freePort } from '../net';

/** Where tools/install-services.sh puts moto when the machine has none (a virtualenv in .devstack). */
const VENV_MOTO = path.resolve(__dirname, '../../../.devstack/venv/bin/moto_server');

export interface Moto {
  /** `http://127.0.0.1:<port>`: an S3-compatible endpoint (any non-empty credentials, us-east-1, forcePathStyle). */
  endpoint: string;
  /** SIGTERM (SIGKILL after 5 s). Safe to call twice. */
  stop(): Promise<void>;
}

function motoBinary(): string {
  try {
    accessSync(VENV_MOTO, constants.X_OK);
    return VENV_MOTO;
  } catch {
    /* not installed there */
  }
  const bin = findBinary('moto_server');
  if (!bin) {
    throw new MissingBinaryError(
      "moto_server not found: run `bash tools/install-services.sh` (installs PyPI's `moto[server]` into .devstack/venv), or `pip install 'moto[server]'`",
    );
  }
  return bin;
}

/**
 * moto's server mode (PyPI `moto[server]`): an in-memory AWS mock whose S3 speaks the real S3 HTTP
 * API, as a child process on 127.0.0.1 and a free port. Resolves once it answers HTTP.
 */
export async function startMoto(opts: { startTimeoutMs?: number } = {}): Promise<Moto> {
  const bin = motoBinary();
  const { startTimeoutMs = 60_000 } = opts;
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // no real credentials or region from the environment reach the mock
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_DEFAULT_REGION: 'us-east-1',
      PYTHONUNBUFFERED: '1',
    },
  });
  let output = '';
  const collect = (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  child.once('error', (e) => {
    output += `\n${e.message}`;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
    })();
    return stopped;
  };

  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(
        `moto_server exited (${child.exitCode ?? child.signalCode}) before answering HTTP:\n${output.slice(-2000)}`,
      );
    }
    try {
      const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`moto_server did not answer HTTP on ${endpoint} within ${startTimeoutMs} ms:\n${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { endpoint, stop };
}

/** A bucket made on a moto server: a client for the test to look into it, and the `S3_*` settings a service needs for it. */
export async function motoBucket(moto: Moto, bucket: string): Promise<{ s3: S3Client; env: Record<string, string> }> {
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  const s3 = new S3Client({ endpoint: moto.endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const env = {
    S3_BUCKET: bucket,
    S3_ENDPOINT: moto.endpoint,
    S3_REGION: 'us-east-1',
    S3_ACCESS_KEY_ID: credentials.accessKeyId,
    S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
  };
  return { s3, env };
}
