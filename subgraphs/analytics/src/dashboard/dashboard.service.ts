import { randomUUID } from 'node:crypto';
import { AppError, assertId, ErrorCode, type RequestAccess } from '@tm/kit/contracts';
import { type UserContext } from '@tm/kit/infra';
import { Dashboard, DashboardModel, DEFAULT_WIDGETS } from './dashboard.model';
import { dashboardSchema } from './dashboard.schema';

export interface DashboardDraft {
  id?: string | null;
  name: string;
  widgets: Array<{
    id: string;
    kind: string;
    projectId?: string | null;
    title?: string | null;
    x: number;
    y: number;
    w: number;
    h: number;
  }>;
}

function notFound(): AppError {
  return new AppError(ErrorCode.NotFound, 'Dashboard not found or no access');
}

/** Users' dashboards: validated layouts (schema, size, projects the owner can see), at most `perUser` each. */
export class DashboardService {
  constructor(private readonly limits: { maxBytes: number; perUser: number }) {}

  async save(access: RequestAccess, draft: DashboardDraft): Promise<Dashboard> {
    const ownerId = access.userId;
    if (!ownerId) throw new AppError(ErrorCode.AuthFailed, 'Authentication required');
    const bytes = Buffer.byteLength(JSON.stringify({ name: draft.name, widgets: draft.widgets }));
    if (bytes > this.limits.maxBytes)
      throw new AppError(
        ErrorCode.InvalidRequest,
        `Invalid input: the layout is ${bytes} bytes, at most ${this.limits.maxBytes}`,
        { field: 'input' },
      );
    const parsed = dashboardSchema.safeParse({ name: draft.name, widgets: draft.widgets });
    if (!parsed.success) {
      const fields = [...new Set(parsed.error.issues.map((i) => ['input', ...i.path].join('.')))];
      throw new AppError(
        ErrorCode.InvalidRequest,
        `Invalid input: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        { field: fields[0] ?? 'input', fields },
      );
    }
    const layout = parsed.data;
    // a widget may only show a project its owner can see
    for (const w of layout.widgets) {
      if (w.projectId && !(await access.of(w.projectId)))
        throw new AppError(ErrorCode.NotFound, 'Project not found or no access', { field: `input.widgets.${w.id}.projectId` });
    }
    const widgets = layout.widgets.map((w) => ({ ...w, projectId: w.projectId ?? null, title: w.title ?? null }));
    if (draft.id) {
      const id = assertId(draft.id, 'id');
      const updated = await DashboardModel.findOneAndUpdate(
        { _id: id, ownerId },
        { $set: { name: layout.name, widgets } },
        { returnDocument: 'after' },
      ).lean<Dashboard>();
      if (!updated) throw notFound();
      return updated;
    }
    if ((await DashboardModel.countDocuments({ ownerId })) >= this.limits.perUser) {
      throw new AppError(ErrorCode.InvalidRequest, `Invalid input: at most ${this.limits.perUser} dashboards per user`, {
        field: 'input',
      });
    }
    return (await DashboardModel.create({ _id: randomUUID(), ownerId, name: layout.name, widgets })).toObject();
  }

  list(viewer: UserContext): Promise<Dashboard[]> {
    return DashboardModel.find({ ownerId: viewer.userId })
      .sort({ createdAt: 1, _id: 1 })
      .limit(this.limits.perUser)
      .lean<Dashboard[]>();
  }

  /** ADMIN: the dashboard's widgets back to the default layout (name kept). */
  async reset(id: string): Promise<Dashboard> {
    assertId(id, 'id');
    const done = await DashboardModel.findOneAndUpdate(
      { _id: id },
      { $set: { widgets: DEFAULT_WIDGETS } },
      { returnDocument: 'after' },
    ).lean<Dashboard>();
    if (!done) throw notFound();
    return done;
  }
}
