import { buildFederatedSchema } from '@tm/kit/graphql';
import type { GraphQLSchema } from 'graphql';
import { AdminResolver } from './admin/admin.resolver';
import { AuthResolver } from './auth/auth.resolver';
import { MfaResolver } from './mfa/mfa.resolver';
import { PasswordResolver } from './password/password.resolver';
import { PresenceResolver } from './presence/presence.resolver';
import { ProjectRef } from './project/project.ref';
import { ProjectPresenceResolver, projectReference } from './project/project.resolver';
import { UserResolver } from './user/user.resolver';
import { userReference } from './user/user.reference';

export function buildUsersSchema(): Promise<GraphQLSchema> {
  return buildFederatedSchema(
    {
      resolvers: [
        UserResolver,
        AuthResolver,
        MfaResolver,
        PasswordResolver,
        AdminResolver,
        PresenceResolver,
        ProjectPresenceResolver,
      ],
      // only reached through the supergraph (users adds Project.onlineUsers)
      orphanedTypes: [ProjectRef],
    },
    { ...userReference, ...projectReference },
  );
}
