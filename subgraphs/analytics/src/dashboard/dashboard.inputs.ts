import { Field, ID, InputType, Int } from 'type-graphql';
import { WidgetKind } from './dashboard.model';

@InputType()
export class WidgetInput {
  @Field()
  public id!: string;

  @Field(() => WidgetKind)
  public kind!: WidgetKind;

  @Field(() => ID, { nullable: true })
  public projectId?: string | null;

  @Field(() => String, { nullable: true })
  public title?: string | null;

  @Field(() => Int)
  public x!: number;

  @Field(() => Int)
  public y!: number;

  @Field(() => Int)
  public w!: number;

  @Field(() => Int)
  public h!: number;
}

@InputType({ description: "A dashboard to create (no id) or replace (your dashboard's id)" })
export class DashboardInput {
  @Field(() => ID, { nullable: true })
  public id?: string | null;

  @Field()
  public name!: string;

  @Field(() => [WidgetInput])
  public widgets!: WidgetInput[];
}
