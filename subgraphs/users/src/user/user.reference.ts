import { selectedFields } from '@tm/kit';
import type { GraphQLResolveInfo } from 'graphql';
import type { UsersContext } from '../context';
import { CARD_FIELDS, type UserCard } from './user-cards';
import type { User } from './user.model';

/**
 * `_entities` for User, batched through the request's DataLoaders: from the card cache when the
 * selection asks for nothing a card lacks (`assignee { name }`), from the database otherwise.
 */
export const userReference = {
  User: {
    __resolveReference: (ref: { id: string }, ctx: UsersContext, info: GraphQLResolveInfo): Promise<User | UserCard | null> =>
      [...selectedFields(info)].every((f) => CARD_FIELDS.has(f)) ? ctx.loaders.card.load(ref.id) : ctx.loaders.user.load(ref.id),
  },
};
