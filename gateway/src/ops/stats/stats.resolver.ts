import { Arg, Authorized, Ctx, Field, Float, Int, ObjectType, Query, Resolver } from 'type-graphql';
import { invalidInput } from '@tm/kit/contracts';
import type { OpsContext } from '../ops.context';
import type { OperationStat } from './stats.service';

@ObjectType({ description: "An operation's durations as measured by the gateway that answered (since it started)" })
export class OperationStats {
  @Field({ description: 'The operation name (anonymous when it had none)' })
  public operationName!: string;

  @Field(() => Int)
  public count!: number;

  @Field(() => Float)
  public p50Ms!: number;

  @Field(() => Float)
  public p95Ms!: number;

  @Field(() => Float)
  public maxMs!: number;
}

@Authorized('ADMIN')
@Resolver()
export class StatsResolver {
  @Query(() => [OperationStats], { description: 'ADMIN: the slowest operations by p95 (default 10, at most 100)' })
  slowOperations(
    @Ctx() ctx: OpsContext,
    @Arg('limit', () => Int, { nullable: true }) limit?: number | null,
  ): Promise<OperationStat[]> {
    return ctx.ops.audit.run(ctx, 'slowOperations', { limit }, async () => {
      const n = limit ?? 10;
      if (!Number.isInteger(n) || n < 1 || n > 100) throw invalidInput('limit', 'from 1 to 100');
      return ctx.ops.stats.slowest(n).map((s) => ({ ...s, p50Ms: round(s.p50Ms), p95Ms: round(s.p95Ms), maxMs: round(s.maxMs) }));
    });
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;
