import { setFlagsFromString } from 'node:v8';
import pino, { type Logger } from 'pino';
import { currentScope } from './request-scope';
import { activeTraceIds } from './tracing';

export type { Logger };

/** Field names whose values never reach a log line. */
const SECRET_KEYS = [
  'password',
  'currentPassword',
  'newPassword',
  'passwordHash',
  'token',
  'accessToken',
  'refreshToken',
  'authorization',
  'cookie',
  'secret',
  'mfaCode',
  'code',
  'email',
  'x-tm-context',
  'privateKey',
  'privateJwk',
  'mfaSecret',
  'mfaPendingSecret',
  'mfaToken',
  'otpauthUrl',
  'recoveryCodes',
  'resetToken',
  'resetTokenEncrypted',
  'emailEncrypted',
  'secretHash',
  'tokenHash',
  'ENCRYPTION_KEYS',
  'ADMIN_PASSWORD',
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

/**
 * V8's linear-time regexp engine (an automaton, no backtracking: its time is linear in the input
 * whatever the pattern), behind a V8 flag that only enables the `l` flag on regexps that ask for it.
 * Extra redaction patterns are compiled with it; '' if this V8 has none (then the syntactic check
 * below is all there is).
 */
const LINEAR_FLAG: '' | 'l' = (() => {
  try {
    setFlagsFromString('--enable-experimental-regexp-engine');
    const linear = 'l';
    new RegExp('a', linear);
    return 'l';
  } catch {
    return '';
  }
})();

/** A quantifier at `i`: its length, whether it matches a variable count, whether it can repeat. */
function quantifierAt(p: string, i: number): { len: number; variable: boolean; repeating: boolean } | null {
  const lazy = (n: number) => (p[i + n] === '?' ? n + 1 : n);
  const c = p[i];
  if (c === '*' || c === '+') return { len: lazy(1), variable: true, repeating: true };
  if (c === '?') return { len: lazy(1), variable: true, repeating: false };
  if (c !== '{') return null;
  const m = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i));
  if (!m) return null;
  const min = Number(m[1]);
  const max = m[2] ? (m[3] ? Number(m[3]) : Infinity) : min;
  return { len: lazy(m[0].length), variable: max > min, repeating: max > 1 };
}

/**
 * Why a redaction pattern is refused, or null when it is fine: it must be a valid regular
 * expression that runs in linear time (no backreferences or lookarounds; no group that repeats
 * while its content can match in more than one way, e.g. `(a+)+` or `(a|ab)*`; and, where V8's
 * linear engine is available, accepted by it), must not match the empty string, 1–200 characters.
 */
export function piiPatternProblem(p: string): string | null {
  if (!p || p.length > 200) return '1–200 characters';
  try {
    new RegExp(p, 'g');
  } catch {
    return 'not a valid regular expression';
  }
  // one frame per open group: does its content match a variable length (a quantifier, an alternation)?
  const stack: Array<{ variable: boolean }> = [{ variable: false }];
  for (let i = 0; i < p.length;) {
    const c = p[i]!;
    let end: number;
    if (c === '\\') {
      const next = p[i + 1] ?? '';
      if (/[1-9]/.test(next) || next === 'k') return 'backreferences are not allowed (not linear-time)';
      end = i + 2;
    } else if (c === '[') {
      end = i + 1;
      if (p[end] === '^') end++;
      if (p[end] === ']') end++;
      while (end < p.length && p[end] !== ']') end += p[end] === '\\' ? 2 : 1;
      end++;
    } else if (c === '(') {
      if (/^\(\?(=|!|<=|<!)/.test(p.slice(i))) return 'lookarounds are not allowed (not linear-time)';
      stack.push({ variable: false });
      if (p[i + 1] !== '?') i += 1;
      else if (p[i + 2] === ':') i += 3;
      else i = p.indexOf('>', i) + 1; // (?<name>
      continue;
    } else if (c === ')') {
      const group = stack.pop() ?? { variable: false };
      const q = quantifierAt(p, i + 1);
      if (q?.repeating && group.variable)
        return 'nested quantifiers are not allowed (a repeated group whose content varies in length; not linear-time)';
      if (group.variable || q?.variable) stack[stack.length - 1]!.variable = true;
      i += 1 + (q?.len ?? 0);
      continue;
    } else if (c === '|') {
      stack[stack.length - 1]!.variable = true;
      i++;
      continue;
    } else {
      end = i + 1;
    }
    const q = quantifierAt(p, end);
    if (q?.variable) stack[stack.length - 1]!.variable = true;
    i = end + (q?.len ?? 0);
  }
  if (LINEAR_FLAG) {
    try {
      new RegExp(p, `g${LINEAR_FLAG}`);
    } catch {
      return 'not linear-time (the linear-time engine also limits repetition counts such as {n,m} to 16)';
    }
  }
  if (new RegExp(p, 'g').test('')) return 'must not match the empty string';
  return null;
}

/**
 * Extra redaction patterns (ops `setPiiPatterns`), applied to every string logged from now on.
 * Compiled with the linear-time engine; a pattern that fails `piiPatternProblem` (written to the
 * settings by something other than the ops API) is ignored. How many were ignored.
 */
export function setExtraPiiPatterns(patterns: string[]): number {
  const safe = patterns.filter((p) => typeof p === 'string' && piiPatternProblem(p) === null);
  extraPatterns = safe.map((p) => new RegExp(p, `g${LINEAR_FLAG}`));
  return patterns.length - safe.length;
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
 * The service logger: pino JSON, one line per event, `service` on every line (and `trace_id` /
 * `span_id` on those written inside a span while tracing is on); secret fields
 * redacted by name and secret-looking values (tokens, emails, hashes) by pattern.
 */
export function createLogger(service: string, level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      // correlation id and user of the request being served, and the active span's trace and span
      // ids while tracing is on, on every line logged within it
      mixin: () => {
        const scope = currentScope();
        const ids = activeTraceIds();
        return {
          ...(scope ? { correlationId: scope.correlationId, userId: scope.userId ?? undefined } : {}),
          ...ids,
        };
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
