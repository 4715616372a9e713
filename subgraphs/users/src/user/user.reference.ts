import type { UsersContext } from '../context';
import type { User } from './user.model';

/** `_entities` for User, batched through the request's DataLoader: one query for any number of users. */
export const userReference = {
  User: {
    __resolveReference: (ref: { id: string }, ctx: UsersContext): Promise<User | null> => ctx.loaders.user.load(ref.id),
  },
};
