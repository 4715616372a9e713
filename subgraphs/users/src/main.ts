import 'reflect-metadata';
import { PermissionsClient } from '@tm/kit/contracts';
import {
  AuditLog,
  ConfigError,
  EventPublisher,
  LivePublisher,
  type RunningService,
  SecretBox,
  sendJson,
  startSubgraph,
} from '@tm/kit/infra';
import { AdminService } from './admin/admin.service';
import { ensureFirstAdmin } from './admin/admin.bootstrap';
import { AuthService } from './auth/auth.service';
import { KeyRing } from './auth/keyring.service';
import { createAuthMetrics } from './auth/auth.metrics';
import { LoginGuard } from './auth/login-guard.service';
import { RegisterGuard } from './auth/register-guard.service';
import { SessionModel } from './auth/session.model';
import { SessionService } from './auth/session.service';
import { SigningKeyModel } from './auth/signing-key.model';
import { StepTokens } from './auth/step-token.service';
import { checkUsersEnv, usersConfigShape, type UsersConfig } from './config';
import type { Services, UsersContext } from './context';
import { internalRoutes } from './internal.routes';
import { createLoaders } from './loaders';
import { MfaPolicyModel } from './mfa/mfa-policy.model';
import { MfaService } from './mfa/mfa.service';
import { PasswordResetModel } from './password/password-reset.model';
import { PasswordService } from './password/password.service';
import { PresenceService } from './presence/presence.service';
import { buildUsersSchema } from './schema';
import { CounterModel } from './user/active-admins.service';
import { UserModel } from './user/user.model';
import { UserService } from './user/user.service';

export type { UsersConfig };

/** Starts the users subgraph (port 4001 unless USERS_PORT/PORT say otherwise). */
export async function start(env: NodeJS.ProcessEnv = process.env): Promise<RunningService<UsersConfig>> {
  checkUsersEnv(env);
  return startSubgraph<UsersConfig, UsersContext>({
    name: 'users',
    defaultPort: 4001,
    env,
    configShape: usersConfigShape,
    models: [UserModel, SessionModel, SigningKeyModel, PasswordResetModel, MfaPolicyModel, CounterModel],
    buildSchema: buildUsersSchema,
    setup: (deps) => {
      const cfg = deps.config;
      const ttl = cfg.ACCESS_TOKEN_TTL_SECONDS;
      const box = new SecretBox(cfg.ENCRYPTION_KEYS);
      const users = new UserService(deps.redis);
      const keys = new KeyRing(box, ttl, cfg.SIGNING_KEY_RELOAD_SECONDS, deps.log);
      const sessions = new SessionService(
        deps.redis,
        deps.log,
        cfg.REFRESH_TOKEN_TTL_DAYS * 86_400_000,
        ttl,
        cfg.REFRESH_REUSE_GRACE_SECONDS * 1000,
      );
      const authMetrics = createAuthMetrics(deps.metrics.registry);
      const guard = new LoginGuard(
        deps.redis,
        {
          maxPerAccount: cfg.LOGIN_MAX_FAILURES_PER_ACCOUNT,
          maxPerIp: cfg.LOGIN_MAX_FAILURES_PER_IP,
          windowSeconds: cfg.LOGIN_FAILURE_WINDOW_SECONDS,
        },
        authMetrics,
      );
      const registrations = new RegisterGuard(deps.redis, {
        maxPerIp: cfg.REGISTER_MAX_PER_IP,
        maxPerEmail: cfg.REGISTER_MAX_PER_EMAIL,
        windowSeconds: cfg.REGISTER_WINDOW_SECONDS,
      });
      const stepTokens = new StepTokens(box);
      const mfa = new MfaService(deps.redis, box, cfg.MFA_ISSUER);
      const events = new EventPublisher('users', deps.redis, deps.log);
      const permissions = new PermissionsClient(deps.redis, cfg.PROJECTS_URL, cfg.INTERNAL_SECRET, deps.log, deps.metrics);
      const live = new LivePublisher(deps.redis, cfg.REDIS_PREFIX, deps.log);
      const presence = new PresenceService(deps.redis, live, permissions, deps.log, cfg.PRESENCE_TTL_SECONDS);
      const services: Services = {
        users,
        keys,
        mfa,
        auth: new AuthService(
          users,
          sessions,
          keys,
          guard,
          mfa,
          stepTokens,
          registrations,
          authMetrics,
          cfg.REGISTER_MIN_RESPONSE_MS,
        ),
        passwords: new PasswordService(
          users,
          sessions,
          stepTokens,
          guard,
          events,
          box,
          deps.log,
          deps.redis,
          cfg.PASSWORD_RESET_TTL_MINUTES,
        ),
        admin: new AdminService(users, sessions, mfa, keys, box),
        audit: new AuditLog('users', deps.redis, deps.log),
        presence,
        permissions,
      };
      return {
        context: (base) => ({ ...base, services, loaders: createLoaders(users, deps.redis, permissions), selfIds: new Set() }),
        routes: {
          ...internalRoutes(cfg.INTERNAL_SECRET, (user) => users.publishTokenVersion(user)),
          '/.well-known/jwks.json': async (_req, res) => {
            try {
              sendJson(res, 200, await keys.jwks(), { 'cache-control': 'public, max-age=10' });
            } catch {
              sendJson(res, 503, { error: 'keys unavailable' });
            }
          },
        },
        onConnected: async () => {
          presence.start(Math.min(5000, (cfg.PRESENCE_TTL_SECONDS * 1000) / 4));
          await keys.ensureKey();
          await users.admins.ensure();
          if (cfg.ADMIN_EMAIL && cfg.ADMIN_PASSWORD) await ensureFirstAdmin(users, cfg.ADMIN_EMAIL, cfg.ADMIN_PASSWORD, deps.log);
        },
      };
    },
  });
}

if (require.main === module) {
  start().catch((err: unknown) => {
    console.error(err instanceof ConfigError ? `users: ${err.message}` : err);
    process.exit(1);
  });
}
