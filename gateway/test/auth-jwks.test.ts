import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type KeyLike } from 'jose';
import { AppError } from '@tm/kit/contracts';
import { createLogger, createRedis, RedisKeys, redisReady, type Redis } from '@tm/kit/infra';
import { ACCESS_TOKEN_TYP, createAuthenticator, TOKEN_AUDIENCE, TOKEN_ISSUER } from '../src/auth';

/**
 * The gateway's token check when the users JWKS cannot be fetched (users down, or its store frozen
 * so it answers 503 or nothing): tokens signed by a key the gateway has seen keep verifying, a key it
 * has not seen is SYS-002 (the token may be fine), never AUTH-002. Real Redis for the token version.
 */
let server: http.Server;
let url: string;
let mode: 'ok' | 'fail' | 'hang' = 'ok';
let fetches = 0;
const published: JWK[] = [];
let redis: Redis;
const userId = randomUUID();

/** A fresh access token (its own session: the gateway's verified-token cache cannot answer for it). */
function token(key: { kid: string; privateKey: KeyLike }): Promise<string> {
  return new SignJWT({ roles: ['USER'], sid: randomUUID(), tv: 0 })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: ACCESS_TOKEN_TYP })
    .setSubject(userId)
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(key.privateKey);
}

const MAX_AGE_MS = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const codeOf = (err: unknown) => (err instanceof AppError ? err.code : String(err));

beforeAll(async () => {
  server = http.createServer((_req, res) => {
    fetches++;
    if (mode === 'hang') return; // answers nothing
    if (mode === 'fail') return void res.writeHead(503).end('{"error":"keys unavailable"}');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  redis = createRedis(process.env.REDIS_URL!, `t:jwks:${randomBytes(4).toString('hex')}:`, createLogger('test', 'silent'));
  await redisReady(redis);
  await redis.set(RedisKeys.tokenVersion(userId), '0');
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await redis.del(RedisKeys.tokenVersion(userId));
  await redis.quit();
});

it('keeps verifying with the keys it has while the JWKS answers 503 or nothing; an unseen key is SYS-002', async () => {
  const first = await keyPair();
  published.push(first.jwk);
  const authenticate = createAuthenticator(url, redis, undefined, { jwksMaxAgeMs: MAX_AGE_MS, jwksTimeoutMs: 500 });
  expect((await authenticate(`Bearer ${await token(first)}`)).userId).toBe(userId);

  // users answers 503 (its store frozen): the cached set is due for a refresh, the refresh fails
  mode = 'fail';
  await sleep(MAX_AGE_MS + 50);
  const before = fetches;
  expect((await authenticate(`Bearer ${await token(first)}`)).userId).toBe(userId);
  await waitUntil(() => fetches > before); // a refresh was tried, in the background

  // users answers nothing at all: the check does not wait for it
  mode = 'hang';
  await sleep(MAX_AGE_MS + 50);
  expect((await authenticate(`Bearer ${await token(first)}`)).userId).toBe(userId);

  // a key the gateway has never seen cannot be checked while users is away: unavailable, not "invalid"
  mode = 'fail';
  const second = await keyPair();
  await sleep(1100); // past the refetch cooldown, so the unknown kid makes it fetch
  await expect(authenticate(`Bearer ${await token(second)}`).then(() => 'accepted', codeOf)).resolves.toBe('SYS-002');

  // users is back with the rotated key: it verifies
  published.push(second.jwk);
  mode = 'ok';
  await sleep(1100);
  expect((await authenticate(`Bearer ${await token(second)}`)).userId).toBe(userId);
  // and a token signed by a key nobody published is still refused as invalid
  const forged = await keyPair();
  await sleep(1100);
  await expect(authenticate(`Bearer ${await token(forged)}`).then(() => 'accepted', codeOf)).resolves.toBe('AUTH-002');
});

it('says SYS-002, not AUTH-002, when it never had the JWKS and users answers 503', async () => {
  mode = 'fail';
  const key = await keyPair();
  const authenticate = createAuthenticator(url, redis, undefined, { jwksMaxAgeMs: MAX_AGE_MS, jwksTimeoutMs: 500 });
  await expect(authenticate(`Bearer ${await token(key)}`).then(() => 'accepted', codeOf)).resolves.toBe('SYS-002');
});

async function keyPair(): Promise<{ kid: string; privateKey: KeyLike; jwk: JWK }> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const kid = randomUUID();
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

async function waitUntil(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(20);
  }
}
