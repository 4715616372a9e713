import { Field, ID, InputType } from 'type-graphql';
import { ReportFormat, ReportKind } from './report.enums';

@InputType()
export class ReportInput {
  @Field(() => ID)
  public projectId!: string;

  @Field(() => ReportKind, { defaultValue: ReportKind.TASKS })
  public kind!: ReportKind;

  @Field(() => Date, {
    nullable: true,
    description: 'TASKS: tasks created from then (default: all); THROUGHPUT: first day (default: 30 days before to)',
  })
  public from?: Date | null;

  @Field(() => Date, { nullable: true, description: 'Default: now' })
  public to?: Date | null;

  @Field(() => ReportFormat, { defaultValue: ReportFormat.CSV })
  public format!: ReportFormat;
}
