import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from 'type-graphql';
import { actor, type TasksContext } from '../context';
import { UserRef, userRef } from '../user/user.ref';
import { Comment } from './comment.model';

/** Comments: adding one, and its author (a reference to users). A task's comments page is `Task.comments`. */
@Resolver(() => Comment)
export class CommentResolver {
  @Authorized()
  @Mutation(() => Comment)
  addComment(
    @Arg('taskId', () => ID) taskId: string,
    @Arg('body') body: string,
    @Ctx() ctx: TasksContext,
    @Arg('id', () => ID, { nullable: true, description: 'Client-generated UUID for safe retries' }) id?: string,
  ): Promise<Comment> {
    return ctx.services.comments.add(actor(ctx), taskId, body, id);
  }

  @FieldResolver(() => UserRef)
  author(@Root() comment: Comment): UserRef {
    return userRef(comment.authorId)!;
  }
}
