import { Field, ID, InputType } from 'type-graphql';

@InputType()
export class CreateProjectInput {
  @Field(() => ID, {
    nullable: true,
    description: 'Client-generated UUID: a retry with the same id returns the project instead of a duplicate',
  })
  public id?: string;

  @Field({ description: '1–100 characters, unique among your projects' })
  public name!: string;

  @Field(() => String, { nullable: true, description: 'At most 5000 characters' })
  public description?: string | null;
}

@InputType()
export class UpdateProjectInput {
  @Field(() => String, { nullable: true })
  public name?: string | null;

  @Field(() => String, { nullable: true })
  public description?: string | null;
}
