import { LocalGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { createFormatError } from '@tm/kit/graphql';
import { type Logger } from '@tm/kit/infra';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { GatewayContext } from '../gateway.context';
import type { OpsServices } from './ops.context';

/**
 * Serves the ops subgraph to @apollo/gateway in-process (no HTTP hop): its resolvers run with the
 * gateway's own context (the verified user) plus the ops services. Errors leave coded the way an
 * HTTP subgraph's formatter codes them, so the gateway passes AppError codes on.
 */
export class OpsDataSource extends LocalGraphQLDataSource<GatewayContext> {
  private readonly format: ReturnType<typeof createFormatError>;

  constructor(
    schema: GraphQLSchema,
    private readonly services: OpsServices,
    log: Logger,
  ) {
    super(schema);
    this.format = createFormatError(log);
  }

  override async process(options: GraphQLDataSourceProcessOptions<GatewayContext>) {
    const context = { ...(options.context as GatewayContext), ops: this.services };
    const result = await super.process({ ...options, context } as GraphQLDataSourceProcessOptions<GatewayContext>);
    if (!result.errors?.length) return result;
    return {
      ...result,
      errors: result.errors.map((e) => {
        const f = this.format(e instanceof GraphQLError ? e.toJSON() : { message: String((e as Error).message) }, e);
        return new GraphQLError(f.message, { path: f.path, extensions: { ...f.extensions, correlationId: undefined } });
      }),
    };
  }
}
