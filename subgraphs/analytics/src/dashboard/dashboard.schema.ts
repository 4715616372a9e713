import { z } from 'zod';
import { WidgetKind } from './dashboard.model';

export const GRID_COLUMNS = 12;
export const MAX_WIDGETS = 40;

const widget = z
  .object({
    id: z.string().regex(/^[\w-]{1,40}$/, 'letters, digits, _ and -, at most 40'),
    kind: z.enum(WidgetKind),
    projectId: z.string().min(1).max(64).nullish(),
    title: z.string().trim().max(100).nullish(),
    x: z
      .number()
      .int()
      .min(0)
      .max(GRID_COLUMNS - 1),
    y: z.number().int().min(0).max(1000),
    w: z.number().int().min(1).max(GRID_COLUMNS),
    h: z.number().int().min(1).max(24),
  })
  .refine((w) => w.x + w.w <= GRID_COLUMNS, { message: `x + w at most ${GRID_COLUMNS}`, path: ['w'] })
  .refine((w) => (w.kind === WidgetKind.WORKLOAD ? !w.projectId : !!w.projectId), {
    message: 'projectId is required for project widgets, not allowed for WORKLOAD',
    path: ['projectId'],
  });

/** A dashboard layout as saveDashboard accepts it (size checked separately, on its JSON). */
export const dashboardSchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    widgets: z.array(widget).max(MAX_WIDGETS),
  })
  .refine((d) => new Set(d.widgets.map((w) => w.id)).size === d.widgets.length, {
    message: 'widget ids must be unique',
    path: ['widgets'],
  })
  .refine(
    (d) =>
      d.widgets.every((a, i) =>
        d.widgets.slice(i + 1).every((b) => a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y),
      ),
    { message: 'widgets must not overlap', path: ['widgets'] },
  );

export type DashboardLayout = z.infer<typeof dashboardSchema>;
