import { Field, ObjectType } from 'type-graphql';
import { User } from '../user/user.model';

@ObjectType({ description: 'Tokens for a signed-in session' })
export class AuthPayload {
  @Field({ description: 'Short-lived JWT for the Authorization header' })
  public accessToken!: string;

  @Field({ description: 'Opaque, single-use; exchange it with refreshToken before expiresAt' })
  public refreshToken!: string;

  @Field(() => Date, { description: 'When the access token expires' })
  public expiresAt!: Date;

  @Field(() => User)
  public user!: User;
}
