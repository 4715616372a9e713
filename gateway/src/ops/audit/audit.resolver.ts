import { Arg, Authorized, Ctx, Int, Query, Resolver } from 'type-graphql';
import { type Connection } from '@tm/kit/contracts';
import { ConnectionType } from '@tm/kit/graphql';
import type { OpsContext } from '../ops.context';
import { AuditEntry } from './audit.model';

export const AuditConnection = ConnectionType('Audit', AuditEntry);

@Authorized('ADMIN')
@Resolver()
export class AuditResolver {
  @Query(() => AuditConnection, { description: 'ADMIN: every admin action of every service, newest first' })
  auditLog(
    @Ctx() ctx: OpsContext,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ): Promise<Connection<AuditEntry>> {
    return ctx.ops.audit.run(ctx, 'auditLog', { first, after }, () => ctx.ops.auditEntries.page(first, after));
  }
}
