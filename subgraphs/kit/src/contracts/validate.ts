import { AppError, ErrorCode } from './errors';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** Ids are UUIDs: anything else is `API-002` naming the argument. */
export function assertId(id: string, field: string, code: ErrorCode = ErrorCode.InvalidRequest): string {
  if (typeof id !== 'string' || !UUID_RE.test(id)) throw new AppError(code, `Invalid ${field}: must be an id`, { field });
  return id.toLowerCase();
}

export function isId(id: unknown): id is string {
  return typeof id === 'string' && UUID_RE.test(id);
}

/** A trimmed, non-blank string of at most `max` characters, else `code` naming the field. */
export function requireText(value: string | null | undefined, field: string, max: number, code: ErrorCode): string {
  const v = (value ?? '').trim();
  if (!v) throw new AppError(code, `Invalid ${field}: must not be empty`, { field });
  if (v.length > max) throw new AppError(code, `Invalid ${field}: at most ${max} characters`, { field });
  return v;
}

/** Optional text: null/undefined stays absent, otherwise at most `max` characters. */
export function optionalText(value: string | null | undefined, field: string, max: number, code: ErrorCode): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (value.length > max) throw new AppError(code, `Invalid ${field}: at most ${max} characters`, { field });
  return value;
}

/** Escapes user input for use inside a RegExp (search boxes). */
export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
