import { buildFederatedSchema } from '@tm/kit';
import type { GraphQLSchema } from 'graphql';
import { AuthResolver } from './auth/auth.resolver';
import { UserResolver } from './user/user.resolver';
import { userReference } from './user/user.reference';

export function buildUsersSchema(): Promise<GraphQLSchema> {
  return buildFederatedSchema({ resolvers: [UserResolver, AuthResolver] }, userReference);
}
