import { type Connection, decodeCursor, decodeTypedCursor, encodeCursor, forwardPage, pageSize } from '@tm/kit/contracts';
import { AuditEntryModel, type AuditEntry } from './audit.model';

/** The audit log, newest first, in Relay pages (cursor: time and id of the last entry). */
export class AuditQueryService {
  async page(first: number | null | undefined, after: string | null | undefined): Promise<Connection<AuditEntry>> {
    const limit = pageSize(first);
    let filter: Record<string, unknown> = {};
    if (after) {
      const [ms, id] = decodeTypedCursor(after, ['number', 'string'] as const);
      const at = new Date(ms);
      if (Number.isNaN(at.getTime())) decodeCursor('', 2); // API-002 naming `after`
      filter = { $or: [{ at: { $lt: at } }, { at, _id: { $lt: id } }] };
    }
    const [rows, totalCount] = await Promise.all([
      AuditEntryModel.find(filter)
        .sort({ at: -1, _id: -1 })
        .limit(limit + 1)
        .lean<AuditEntry[]>(),
      AuditEntryModel.countDocuments({}),
    ]);
    return forwardPage(rows, limit, (r) => encodeCursor([r.at.getTime(), r._id]), totalCount, Boolean(after));
  }
}
