import { AppError, assertId, ErrorCode, optionalText, requireText } from '@tm/kit/contracts';

export const TITLE_MAX = 200;
export const DESCRIPTION_MAX = 10_000;
export const LABELS_MAX = 20;
export const LABEL_MAX = 50;
const EARLIEST = Date.UTC(2000, 0, 1);
const LATEST = Date.UTC(2100, 0, 1);

/** Plain checks of task fields; `code` is TASK-001 on create, TASK-002 on update. */
export const taskRules = {
  title: (v: string | null | undefined, code: ErrorCode) => requireText(v, 'title', TITLE_MAX, code),
  description: (v: string | null | undefined, code: ErrorCode) => optionalText(v, 'description', DESCRIPTION_MAX, code) ?? null,
  dueDate(v: Date | null | undefined, code: ErrorCode): Date | null {
    if (v === null || v === undefined) return null;
    const t = v.getTime();
    if (Number.isNaN(t) || t < EARLIEST || t >= LATEST)
      throw new AppError(code, 'Invalid dueDate: must be between 2000 and 2100', { field: 'dueDate' });
    return v;
  },
  labels(v: string[] | null | undefined, code: ErrorCode): string[] {
    const labels = [...new Set((v ?? []).map((l) => l.trim()))];
    if (labels.length > LABELS_MAX) throw new AppError(code, `Invalid labels: at most ${LABELS_MAX}`, { field: 'labels' });
    if (labels.some((l) => !l || l.length > LABEL_MAX))
      throw new AppError(code, `Invalid labels: each 1–${LABEL_MAX} characters`, { field: 'labels' });
    return labels;
  },
  id: (v: string, field: string, code: ErrorCode) => assertId(v, field, code),
};
