import { forwardPage, pageSize } from '@tm/kit/contracts';
import { ConnectionType, selectedFields } from '@tm/kit/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Authorized, Ctx, FieldResolver, Float, ID, Info, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Comment } from '../comment/comment.model';
import { cursorOf, decodeCommentCursor } from '../comment/comment.service';
import { actor, type TasksContext } from '../context';
import { ProjectRef } from '../project/project.ref';
import { UserRef, userRef } from '../user/user.ref';
import { CreateTaskInput, UpdateTaskInput } from './task.inputs';
import { Task } from './task.model';
import { TaskStatus } from './task.enums';

export const TaskConnection = ConnectionType('Task', Task);
export const CommentConnection = ConnectionType('Comment', Comment);

@Resolver(() => Task)
export class TaskResolver {
  @Authorized()
  @Query(() => Task, { nullable: true, description: 'A task in a project you belong to (PERM-002 otherwise)' })
  task(@Arg('id', () => ID) id: string, @Ctx() ctx: TasksContext): Promise<Task> {
    return ctx.services.tasks.get(ctx.access, id);
  }

  @FieldResolver(() => ProjectRef)
  project(@Root() task: Task): ProjectRef {
    return { id: task.projectId };
  }

  @FieldResolver(() => UserRef, { nullable: true })
  assignee(@Root() task: Task): UserRef | null {
    return userRef(task.assigneeId);
  }

  @FieldResolver(() => UserRef)
  reporter(@Root() task: Task): UserRef {
    return userRef(task.reporterId)!;
  }

  @FieldResolver(() => Task, { nullable: true })
  parent(@Root() task: Task, @Ctx() ctx: TasksContext): Promise<Task | null> | null {
    return task.parentId ? ctx.loaders.task.load(task.parentId) : null;
  }

  @FieldResolver(() => [Task])
  subtasks(@Root() task: Task, @Ctx() ctx: TasksContext): Promise<Task[]> {
    return ctx.loaders.subtasks.load(task._id);
  }

  @FieldResolver(() => CommentConnection)
  async comments(
    @Root() task: Task,
    @Ctx() ctx: TasksContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    // arguments first, whatever is selected: a negative `first` or a malformed cursor is API-002
    const limit = pageSize(first);
    const cursor = after ? decodeCommentCursor(after) : null;
    const wanted = selectedFields(info);
    const counted = () => task.commentCount ?? ctx.loaders.commentCount.load(task._id); // stored, else counted
    const totalCount = wanted.has('totalCount') || cursor ? await counted() : 0;
    if (!wanted.has('edges') && !wanted.has('pageInfo')) {
      return {
        edges: [],
        totalCount,
        pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
      };
    }
    if (cursor) return ctx.services.comments.page(task._id, limit, cursor, totalCount);
    const rows = await ctx.loaders.firstComments.load({ taskId: task._id, limit });
    return forwardPage(rows, limit, cursorOf, totalCount, false);
  }

  @Authorized()
  @Mutation(() => Task, {
    description: 'MEMBER or better. TASK-001 on invalid input; PROJ-002 when the assignee is not a member',
  })
  createTask(@Arg('input', () => CreateTaskInput) input: CreateTaskInput, @Ctx() ctx: TasksContext): Promise<Task> {
    return ctx.services.tasks.create(actor(ctx), input);
  }

  @Authorized()
  @Mutation(() => Task, { description: 'TASK-002 when expectedVersion is stale (nothing changes) or the input is invalid' })
  updateTask(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateTaskInput) input: UpdateTaskInput,
    @Ctx() ctx: TasksContext,
    @Arg('expectedVersion', () => Int, { nullable: true }) expectedVersion?: number,
  ): Promise<Task> {
    return ctx.services.tasks.update(actor(ctx), id, input, expectedVersion);
  }

  @Authorized()
  @Mutation(() => Task, {
    description: 'Moves a task to a status column, at `position`, right after `afterTaskId`, or at the end',
  })
  moveTask(
    @Arg('id', () => ID) id: string,
    @Arg('status', () => TaskStatus) status: TaskStatus,
    @Ctx() ctx: TasksContext,
    @Arg('position', () => Float, { nullable: true }) position?: number,
    @Arg('expectedVersion', () => Int, { nullable: true }) expectedVersion?: number,
    @Arg('afterTaskId', () => ID, { nullable: true, description: 'Place right after this task of the target column' })
    afterTaskId?: string,
  ): Promise<Task> {
    return ctx.services.tasks.move(actor(ctx), id, { status, position, expectedVersion, afterTaskId });
  }

  @Authorized()
  @Mutation(() => Boolean, { description: 'Deletes the task, its subtasks and their comments' })
  deleteTask(@Arg('id', () => ID) id: string, @Ctx() ctx: TasksContext): Promise<boolean> {
    return ctx.services.tasks.delete(actor(ctx), id);
  }
}
