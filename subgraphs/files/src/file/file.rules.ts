import { AppError, ErrorCode } from '@tm/kit/contracts';

export const NAME_MAX = 255;

/** Types whose content has a signature file-type knows; anything declared must then match it. */
const TEXT_TYPES = new Set(['text/plain', 'text/csv', 'text/markdown', 'application/json']);
/** Office documents are zip containers: a sniffed zip is accepted for them. */
const ZIP_CONTAINERS = new Set([
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
]);

export const DEFAULT_ALLOWED_TYPES = [
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'application/pdf',
  'application/zip',
  'text/plain',
  'text/csv',
  'text/markdown',
  'application/json',
  ...ZIP_CONTAINERS,
];

const refused = (field: string, why: string) => new AppError(ErrorCode.UploadRefused, `Upload refused: ${why}`, { field });

// control characters, and bidirectional overrides that make `gpj.exe` look like `exe.jpg`
// eslint-disable-next-line no-control-regex
const BAD_CHARS = /[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/;

/** Plain checks of an upload request; every refusal is FILE-001 naming the field and the reason. */
export const fileRules = {
  /** A file name, never a path: no separators, no `.`/`..`, no control or direction-override characters. */
  name(v: string | null | undefined): string {
    const name = (v ?? '').normalize('NFC').trim();
    if (!name) throw refused('name', 'the name must not be empty');
    if (name.length > NAME_MAX) throw refused('name', `the name may have at most ${NAME_MAX} characters`);
    if (/[/\\:]/.test(name) || name === '.' || name === '..' || name.startsWith('..'))
      throw refused('name', 'the name must not be a path');
    if (BAD_CHARS.test(name)) throw refused('name', 'the name contains control characters');
    return name;
  },
  size(v: number, max: number): number {
    if (!Number.isInteger(v) || v < 1) throw refused('size', 'the size must be a positive number of bytes');
    if (v > max) throw refused('size', `the file is larger than the limit of ${max} bytes`);
    return v;
  },
  contentType(v: string | null | undefined, allowed: readonly string[]): string {
    const type = (v ?? '').split(';')[0]!.trim().toLowerCase();
    if (!allowed.includes(type))
      throw refused('contentType', `the content type ${JSON.stringify(type.slice(0, 100))} is not allowed`);
    return type;
  },
};

/**
 * Whether the first bytes of an upload agree with its declared type: types with a signature must
 * be sniffed as themselves; text types must not be sniffed as anything and must hold no NUL byte.
 * Returns the reason when they do not agree.
 */
export function contentMismatch(declared: string, sniffed: string | undefined, head: Buffer): string | null {
  if (TEXT_TYPES.has(declared)) {
    if (sniffed) return `the content is ${sniffed}, not ${declared}`;
    if (head.includes(0)) return `the content is binary, not ${declared}`;
    return null;
  }
  if (sniffed === declared) return null;
  if (sniffed === 'application/zip' && ZIP_CONTAINERS.has(declared)) return null;
  return sniffed ? `the content is ${sniffed}, not ${declared}` : `the content is not ${declared}`;
}
