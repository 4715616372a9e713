import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'Jobs of one notification queue by state' })
export class QueueStats {
  @Field({ description: 'email, push or notifications-schedule' })
  public name!: string;

  @Field(() => Int)
  public waiting!: number;

  @Field(() => Int)
  public active!: number;

  @Field(() => Int)
  public failed!: number;

  @Field(() => Int)
  public delayed!: number;

  @Field(() => Int)
  public completed!: number;
}
