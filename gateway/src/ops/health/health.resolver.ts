import { Authorized, Field, Int, ObjectType, Query, Resolver, Ctx } from 'type-graphql';
import type { OpsContext } from '../ops.context';
import type { ServiceHealthView } from './health.service';

@ObjectType({ description: "One dependency of a service, as the service's readiness check sees it" })
export class DependencyHealth {
  @Field()
  public name!: string;

  @Field({ description: 'up or down' })
  public status!: string;
}

@ObjectType({ description: 'Jobs of one queue of a service' })
export class QueueHealth {
  @Field()
  public name!: string;

  @Field(() => Int)
  public waiting!: number;

  @Field(() => Int)
  public active!: number;

  @Field(() => Int)
  public delayed!: number;
}

@ObjectType({ description: "A service's readiness as seen from the gateway that answered" })
export class ServiceHealth {
  @Field()
  public name!: string;

  @Field(() => String, { nullable: true })
  public url!: string | null;

  @Field({ description: 'Its /ready answered OK (its MongoDB and Redis reachable)' })
  public ready!: boolean;

  @Field({ description: 'up or down' })
  public status!: string;

  @Field(() => Int, { nullable: true, description: 'Round trip of the readiness probe; null when it did not answer' })
  public latencyMs!: number | null;

  @Field({ description: "This gateway's circuit breaker for it: closed, open, halfOpen or disabled" })
  public circuitBreaker!: string;

  @Field()
  public readOnly!: boolean;

  @Field(() => [DependencyHealth], {
    description: 'What its /ready reported of each dependency (MongoDB, Redis, and e.g. storage or a virus scanner)',
  })
  public dependencies!: DependencyHealth[];

  @Field(() => [QueueHealth], { description: 'Its job queues (e.g. virus scans), as its /ready reported them' })
  public queues!: QueueHealth[];
}

@Authorized('ADMIN')
@Resolver()
export class HealthResolver {
  @Query(() => [ServiceHealth], { description: 'ADMIN: every service, its readiness and latency' })
  serviceHealth(@Ctx() ctx: OpsContext): Promise<ServiceHealthView[]> {
    return ctx.ops.audit.run(ctx, 'serviceHealth', {}, () => ctx.ops.health.all());
  }
}
