import { getModelForClass, index, modelOptions, prop } from '@typegoose/typegoose';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';

export enum WidgetKind {
  PROJECT_METRICS = 'PROJECT_METRICS',
  THROUGHPUT = 'THROUGHPUT',
  BY_STATUS = 'BY_STATUS',
  BY_ASSIGNEE = 'BY_ASSIGNEE',
  WORKLOAD = 'WORKLOAD',
}
registerEnumType(WidgetKind, {
  name: 'WidgetKind',
  description: 'What a dashboard widget shows; all but WORKLOAD need a projectId',
});

/** One widget on a 12-column grid. */
@ObjectType({ description: 'A widget on a 12-column dashboard grid' })
export class Widget {
  @Field({ description: 'Client-chosen id, unique within the dashboard' })
  @prop({ type: String, required: true })
  public id!: string;

  @Field(() => WidgetKind)
  @prop({ type: String, enum: WidgetKind, required: true })
  public kind!: WidgetKind;

  @Field(() => ID, { nullable: true })
  @prop({ type: String, default: null })
  public projectId?: string | null;

  @Field(() => String, { nullable: true })
  @prop({ type: String, default: null })
  public title?: string | null;

  @Field(() => Int)
  @prop({ type: Number, required: true })
  public x!: number;

  @Field(() => Int)
  @prop({ type: Number, required: true })
  public y!: number;

  @Field(() => Int)
  @prop({ type: Number, required: true })
  public w!: number;

  @Field(() => Int)
  @prop({ type: Number, required: true })
  public h!: number;
}

/** A user's saved widget layout. */
@ObjectType({ description: "A user's dashboard: a named widget layout" })
@index({ ownerId: 1, createdAt: 1 })
@modelOptions({ schemaOptions: { collection: 'dashboards', timestamps: true, versionKey: false } })
export class Dashboard {
  @Field(() => ID, { name: 'id' })
  @prop({ type: String, required: true })
  public _id!: string;

  @prop({ type: String, required: true })
  public ownerId!: string;

  @Field()
  @prop({ type: String, required: true })
  public name!: string;

  @Field(() => [Widget])
  @prop({ type: () => [Widget], _id: false, default: [] })
  public widgets!: Widget[];

  @Field(() => Date)
  public createdAt!: Date;

  @Field(() => Date)
  public updatedAt!: Date;
}

export const DashboardModel = getModelForClass(Dashboard);

/** What `resetDashboard` restores: the caller's workload. */
export const DEFAULT_WIDGETS: Widget[] = [
  { id: 'workload', kind: WidgetKind.WORKLOAD, projectId: null, title: 'My workload', x: 0, y: 0, w: 6, h: 4 },
];
