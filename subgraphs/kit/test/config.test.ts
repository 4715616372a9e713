import { baseConfigSchema, ConfigError, hasHashTag, introspectionEnabled, loadConfig } from '../src/infra/config';
import { redisSettings } from '../src/infra/redis';

const SECRET = 'this-is-a-long-internal-secret-0123456789';
const validEnv: NodeJS.ProcessEnv = {
  MONGO_URL: 'mongodb://127.0.0.1:27017/tm',
  REDIS_URL: 'redis://127.0.0.1:6379',
  INTERNAL_SECRET: SECRET,
};

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(baseConfigSchema, env);
  } catch (e) {
    return e as ConfigError;
  }
  throw new Error('loadConfig did not throw');
}

describe('loadConfig', () => {
  it('parses a valid env and fills defaults', () => {
    const cfg = loadConfig(baseConfigSchema, validEnv);
    expect(cfg).toMatchObject({
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      REDIS_PREFIX: 'tm:',
      SHUTDOWN_TIMEOUT_MS: 10_000,
      MONGO_URL: validEnv.MONGO_URL,
      REDIS_URL: validEnv.REDIS_URL,
      INTERNAL_SECRET: SECRET,
    });
    expect(cfg.GRAPHQL_INTROSPECTION).toBeUndefined();
  });

  it('accepts explicit values and coerces numbers', () => {
    const cfg = loadConfig(baseConfigSchema, {
      ...validEnv,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      MONGO_URL: 'mongodb+srv://cluster.example.net/tm',
      REDIS_URL: 'rediss://cache.example.net:6380',
      REDIS_PREFIX: 'tm.test:',
      SHUTDOWN_TIMEOUT_MS: '2500',
      GRAPHQL_INTROSPECTION: 'true',
    });
    expect(cfg.NODE_ENV).toBe('production');
    expect(cfg.LOG_LEVEL).toBe('warn');
    expect(cfg.REDIS_PREFIX).toBe('tm.test:');
    expect(cfg.SHUTDOWN_TIMEOUT_MS).toBe(2500);
    expect(cfg.GRAPHQL_INTROSPECTION).toBe('true');
  });

  it('throws a ConfigError naming every bad variable', () => {
    const shortSecret = 'short-s3cr3t-VALUE';
    const err = configError({
      ...validEnv,
      MONGO_URL: 'postgres://db.example.net/tm',
      INTERNAL_SECRET: shortSecret,
      LOG_LEVEL: 'loud',
    });
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('ConfigError');
    expect(err.message).toContain('MONGO_URL');
    expect(err.message).toContain('INTERNAL_SECRET');
    expect(err.message).toContain('LOG_LEVEL');
    expect(err.message).not.toContain(shortSecret);
    expect(err.message).not.toContain('REDIS_URL');
  });

  it('names missing required variables', () => {
    const err = configError({});
    expect(err).toBeInstanceOf(ConfigError);
    for (const v of ['MONGO_URL', 'REDIS_URL', 'INTERNAL_SECRET']) expect(err.message).toContain(v);
  });

  it('rejects a bad REDIS_URL, REDIS_PREFIX, NODE_ENV and SHUTDOWN_TIMEOUT_MS', () => {
    const err = configError({
      ...validEnv,
      REDIS_URL: 'http://cache',
      REDIS_PREFIX: 'has space',
      NODE_ENV: 'staging',
      SHUTDOWN_TIMEOUT_MS: '-1',
    });
    for (const v of ['REDIS_URL', 'REDIS_PREFIX', 'NODE_ENV', 'SHUTDOWN_TIMEOUT_MS']) expect(err.message).toContain(v);
    expect(err.message).not.toContain('INTERNAL_SECRET');
  });

  it('never echoes a secret-looking value of any variable', () => {
    const err = configError({ ...validEnv, INTERNAL_SECRET: 'x'.repeat(31) });
    expect(err.message).toContain('INTERNAL_SECRET');
    expect(err.message).not.toContain('x'.repeat(31));
  });
});

describe('introspectionEnabled', () => {
  it('is on in development and test, off in production', () => {
    expect(introspectionEnabled({ NODE_ENV: 'development' })).toBe(true);
    expect(introspectionEnabled({ NODE_ENV: 'test' })).toBe(true);
    expect(introspectionEnabled({ NODE_ENV: 'production' })).toBe(false);
  });

  it('lets GRAPHQL_INTROSPECTION win', () => {
    expect(introspectionEnabled({ NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true' })).toBe(true);
    expect(introspectionEnabled({ NODE_ENV: 'development', GRAPHQL_INTROSPECTION: 'false' })).toBe(false);
    expect(introspectionEnabled({ NODE_ENV: 'test', GRAPHQL_INTROSPECTION: 'false' })).toBe(false);
    expect(introspectionEnabled({ NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'false' })).toBe(false);
  });

  it('works on a loaded config', () => {
    expect(introspectionEnabled(loadConfig(baseConfigSchema, validEnv))).toBe(true);
    expect(introspectionEnabled(loadConfig(baseConfigSchema, { ...validEnv, NODE_ENV: 'production' }))).toBe(false);
    expect(
      introspectionEnabled(loadConfig(baseConfigSchema, { ...validEnv, NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true' })),
    ).toBe(true);
  });
});

describe('Redis Cluster and Sentinel settings', () => {
  const { REDIS_URL: _unused, ...noUrl } = validEnv;

  it('takes a cluster from REDIS_CLUSTER_NODES, with a hash-tag prefix, without REDIS_URL', () => {
    const cfg = loadConfig(baseConfigSchema, {
      ...noUrl,
      REDIS_CLUSTER_NODES: 'r1:7000, r2:7001,r3:7002',
      REDIS_PREFIX: '{tm}:',
      REDIS_PASSWORD: 'pw-0123456789',
    });
    expect(redisSettings(cfg)).toEqual({
      mode: 'cluster',
      nodes: [
        { host: 'r1', port: 7000 },
        { host: 'r2', port: 7001 },
        { host: 'r3', port: 7002 },
      ],
      password: 'pw-0123456789',
    });
  });

  it('refuses a cluster whose prefix has no hash tag (multi-key commands would span slots)', () => {
    const err = configError({ ...noUrl, REDIS_CLUSTER_NODES: 'r1:7000', REDIS_PREFIX: 'tm:' });
    expect(err.message).toContain('REDIS_PREFIX');
    expect(err.message).toContain('hash tag');
    expect(configError({ ...noUrl, REDIS_CLUSTER_NODES: 'r1:7000' }).message).toContain('REDIS_PREFIX');
    expect(configError({ ...noUrl, REDIS_CLUSTER_NODES: 'r1:7000', REDIS_PREFIX: '{}:' }).message).toContain('REDIS_PREFIX');
  });

  it('takes a master through Sentinels, and needs its name', () => {
    const cfg = loadConfig(baseConfigSchema, {
      ...noUrl,
      REDIS_SENTINELS: 's1:26379,s2:26379',
      REDIS_SENTINEL_NAME: 'tm',
      REDIS_SENTINEL_PASSWORD: 'spw-0123456789',
      REDIS_TLS: 'true',
    });
    expect(redisSettings(cfg)).toEqual({
      mode: 'sentinel',
      nodes: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      sentinelName: 'tm',
      sentinelPassword: 'spw-0123456789',
      tls: true,
    });
    const err = configError({ ...noUrl, REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_PASSWORD: 'spw-0123456789' });
    expect(err.message).toContain('REDIS_SENTINEL_NAME');
    expect(err.message).not.toContain('spw-0123456789');
  });

  it('refuses both at once, bad node lists, and no way to Redis at all', () => {
    expect(
      configError({
        ...noUrl,
        REDIS_CLUSTER_NODES: 'r1:7000',
        REDIS_PREFIX: '{tm}:',
        REDIS_SENTINELS: 's1:1',
        REDIS_SENTINEL_NAME: 'm',
      }).message,
    ).toContain('not both');
    expect(configError({ ...noUrl, REDIS_CLUSTER_NODES: 'r1' }).message).toContain('REDIS_CLUSTER_NODES');
    expect(configError({ ...noUrl, REDIS_SENTINELS: 'a:1;b:2', REDIS_SENTINEL_NAME: 'm' }).message).toContain('REDIS_SENTINELS');
    expect(configError(noUrl).message).toContain('REDIS_URL');
    expect(redisSettings(loadConfig(baseConfigSchema, validEnv))).toEqual({ mode: 'standalone', url: validEnv.REDIS_URL });
  });

  it('knows a hash tag', () => {
    expect(hasHashTag('{tm}:')).toBe(true);
    expect(hasHashTag('prod:{tm}:')).toBe(true);
    expect(hasHashTag('tm:')).toBe(false);
    expect(hasHashTag('{}:tm')).toBe(false);
  });
});
