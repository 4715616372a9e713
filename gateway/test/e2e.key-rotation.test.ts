import { decodeJwt, decodeProtectedHeader } from 'jose';
import { Cleanup, spawnService, type ServiceProcess } from '@tm/tools/testing/processes';
import { testEnv } from '@tm/tools/testing/env';
import { errorCode, gql } from '@tm/tools/testing/graphql';

/**
 * Signing-key rotation end to end, with 10-second access tokens so expiry can be watched:
 * the new key signs at once and the gateway verifies its tokens at once; tokens of the old key
 * stay valid until they expire; then the old key leaves the JWKS.
 */
const cleanup = new Cleanup();
let users: ServiceProcess;
let gateway: ServiceProcess;
const TTL = 10;
const RELOAD = 1;
const ADMIN_EMAIL = 'rotation.admin@example.com';
const ADMIN_PASSWORD = 'Rotation-admin-pw-1';
const LOGIN = 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }';
const ME = '{ me { id } }';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function token(email: string, password: string): Promise<string> {
  for (let i = 0; ; i++) {
    const res = await gql<{ login: { accessToken: string } }>(gateway.url, LOGIN, { i: { email, password } });
    if (!res.errors) return res.data!.login.accessToken;
    if (i > 30) throw new Error(JSON.stringify(res.errors));
    await sleep(100); // the first admin appears once the store is connected
  }
}
const kids = async () =>
  ((await (await fetch(`${users.base}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string; d?: string }> }).keys.map(
    (k) => k.kid,
  );

beforeAll(async () => {
  const env = testEnv('e2e_rotation', {
    ACCESS_TOKEN_TTL_SECONDS: String(TTL),
    SIGNING_KEY_RELOAD_SECONDS: String(RELOAD),
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
  });
  users = await spawnService('users', 'subgraphs/users/dist/main.js', env);
  cleanup.add(() => users.stop());
  gateway = await spawnService('gateway', 'gateway/dist/main.js', {
    ...env,
    USERS_URL: users.url,
    JWKS_URL: `${users.base}/.well-known/jwks.json`,
  });
  cleanup.add(() => gateway.stop());
}, 60_000);

afterAll(() => cleanup.run());

it('rotates: new tokens verify at once, old ones until they expire, then the old key is dropped', async () => {
  const admin = await token(ADMIN_EMAIL, ADMIN_PASSWORD);
  const oldKid = decodeProtectedHeader(admin).kid!;
  const old = await token(ADMIN_EMAIL, ADMIN_PASSWORD);
  expect((await gql(gateway.url, ME, {}, { token: old })).errors).toBeUndefined(); // the gateway has the JWKS now

  const rotated = await gql(gateway.url, 'mutation { rotateSigningKeys }', {}, { token: admin });
  expect(rotated.data).toEqual({ rotateSigningKeys: true });
  const rotatedAt = Date.now();
  const fresh = await token(ADMIN_EMAIL, ADMIN_PASSWORD);
  const newKid = decodeProtectedHeader(fresh).kid!;
  expect(newKid).not.toBe(oldKid);
  // the gateway fetched the JWKS moments ago, yet the unknown kid verifies promptly
  const t0 = Date.now();
  expect((await gql(gateway.url, ME, {}, { token: fresh })).errors).toBeUndefined();
  expect(Date.now() - t0).toBeLessThan(3000);
  expect((await kids()).sort()).toEqual([newKid, oldKid].sort());
  expect(await kids()).not.toContain(undefined);

  // the old key's token still works until its own expiry…
  expect((await gql(gateway.url, ME, {}, { token: old })).errors).toBeUndefined();
  const oldExp = decodeJwt(old).exp! * 1000;
  await sleep(Math.max(0, oldExp + 6_000 - Date.now())); // past exp + the gateway's 5 s clock tolerance
  expect(errorCode(await gql(gateway.url, ME, {}, { token: old }))).toBe('AUTH-002');

  // …and once nothing it signed can still be valid, it leaves the JWKS
  const retention = (TTL + RELOAD + 10) * 1000;
  await sleep(Math.max(0, rotatedAt + retention + 500 - Date.now()));
  let published = await kids();
  for (let i = 0; i < 30 && published.includes(oldKid); i++) {
    await sleep(200);
    published = await kids();
  }
  expect(published).toEqual([newKid]);
  expect((await gql(gateway.url, ME, {}, { token: await token(ADMIN_EMAIL, ADMIN_PASSWORD) })).errors).toBeUndefined();
}, 60_000);
