import { AppError, assertId, ErrorCode } from '@tm/kit/contracts';
import { RedisKeys } from '@tm/kit/infra';
import { Arg, Authorized, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import type { TasksContext } from '../context';

/** The operations guide's "data consistency" action (ADMIN, audited). */
@Resolver()
export class TaskAdminResolver {
  @Authorized('ADMIN')
  @Mutation(() => Boolean, {
    description:
      'ADMIN: entity "Task" re-publishes the task\'s state (live and on the stream); "User" drops the user\'s cached permissions',
  })
  synchronizeEntity(@Arg('entity') entity: string, @Arg('id', () => ID) id: string, @Ctx() ctx: TasksContext): Promise<boolean> {
    return ctx.services.audit.run(ctx, 'synchronizeEntity', { entity, id }, async () => {
      if (entity === 'Task')
        return ctx.services.tasks.synchronize({ userId: ctx.user.userId!, correlationId: ctx.correlationId }, id);
      if (entity === 'User') {
        await ctx.services.redis.del(RedisKeys.permissions(assertId(id, 'id')));
        return true;
      }
      throw new AppError(ErrorCode.InvalidRequest, 'Invalid entity: Task or User', { field: 'entity' });
    });
  }
}
