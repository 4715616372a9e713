import type { ClassType } from 'type-graphql';
import { Directive, Field, Int, ObjectType } from 'type-graphql';

/** Shared by every subgraph's connections, so `@shareable`. */
@Directive('@shareable')
@ObjectType({ description: 'Relay page information' })
export class PageInfo {
  @Field()
  public hasNextPage!: boolean;

  @Field()
  public hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true })
  public startCursor!: string | null;

  @Field(() => String, { nullable: true })
  public endCursor!: string | null;
}

/**
 * The Relay connection and edge types for a node type: `<Name>Connection { edges { cursor node }
 * pageInfo totalCount }`.
 */
export function ConnectionType<T extends object>(name: string, node: ClassType<T>) {
  @ObjectType(`${name}Edge`)
  class EdgeType {
    @Field()
    public cursor!: string;

    @Field(() => node)
    public node!: T;
  }

  @ObjectType(`${name}Connection`)
  class ConnectionClass {
    @Field(() => [EdgeType])
    public edges!: EdgeType[];

    @Field(() => PageInfo)
    public pageInfo!: PageInfo;

    @Field(() => Int)
    public totalCount!: number;
  }
  return ConnectionClass;
}
