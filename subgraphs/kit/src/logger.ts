import pino, { type Logger } from 'pino';
import { currentScope } from './request-scope';

export type { Logger };

/** Field names whose values never reach a log line. */
const SECRET_KEYS = [
  'password', 'currentPassword', 'newPassword', 'passwordHash', 'token', 'accessToken', 'refreshToken',
  'authorization', 'cookie', 'secret', 'mfaCode', 'code', 'email', 'x-tm-context', 'privateKey',
  'privateJwk', 'mfaSecret', 'mfaPendingSecret', 'mfaToken', 'otpauthUrl', 'recoveryCodes', 'resetToken',
  'resetTokenEncrypted', 'emailEncrypted', 'secretHash', 'tokenHash', 'ENCRYPTION_KEYS', 'ADMIN_PASSWORD',
];

const REDACT_PATHS = SECRET_KEYS.flatMap((k) => {
  const key = /^[A-Za-z_$][\w$]*$/.test(k) ? k : `["${k}"]`;
  const dot = key.startsWith('[') ? key : `.${key}`;
  return [key, `*${dot}`, `*.*${dot}`, `req.headers${dot}`, `variables${dot}`, `variables.input${dot}`];
});

/** Values that look like secrets or PII wherever they appear in a message. */
const BUILTIN_PATTERNS = [
  /eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*/g, // JWTs
  /[\w.+-]+@[\w-]+\.[\w.-]+/g, // email addresses
  /\$argon2[\w$=,./+-]+/g, // password hashes
  /otpauth:\/\/\S+/g, // TOTP enrollment URLs (they carry the secret)
  /\bv1:[\w-]{1,32}:[\w-]{16}:[\w-]{22}:[\w-]+/g, // values sealed with SecretBox
];

let extraPatterns: RegExp[] = [];

/** Extra redaction patterns (ops `setPiiPatterns`), applied to every string logged from now on. */
export function setExtraPiiPatterns(patterns: string[]): void {
  extraPatterns = patterns.map((p) => new RegExp(p, 'g'));
}

export function scrub(value: string): string {
  let out = value;
  for (const re of BUILTIN_PATTERNS) out = out.replace(re, '[redacted]');
  for (const re of extraPatterns) out = out.replace(re, '[redacted]');
  return out;
}

function scrubDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrub(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, depth + 1));
  if (value instanceof Error) return { type: value.name, message: scrub(value.message), stack: scrub(value.stack ?? '') };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubDeep(v, depth + 1);
  return out;
}

/**
 * The service logger: pino JSON, one line per event, `service` on every line; secret fields
 * redacted by name and secret-looking values (tokens, emails, hashes) by pattern.
 */
export function createLogger(service: string, level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      // correlation id and user of the request being served, on every line logged within it
      mixin: () => {
        const scope = currentScope();
        return scope ? { correlationId: scope.correlationId, userId: scope.userId ?? undefined } : {};
      },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { log: (obj) => scrubDeep(obj) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? scrub(a) : a)) as Parameters<typeof method>;
          method.apply(this, scrubbed);
        },
      },
    },
    destination,
  );
}
