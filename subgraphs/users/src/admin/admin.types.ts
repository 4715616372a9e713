import { ConnectionType } from '@tm/kit/graphql';
import { Field, Int, ObjectType } from 'type-graphql';
import { User } from '../user/user.model';

/** `users` (ADMIN): a Relay connection of User. */
export const UserConnection = ConnectionType('User', User);

@ObjectType({ description: 'How many stored secrets are sealed with one encryption key' })
export class KeyUsage {
  @Field()
  public keyId!: string;

  @Field(() => Int)
  public count!: number;
}

@ObjectType({ description: 'Encryption of secrets at rest (AES-256-GCM): keys configured and in use' })
export class EncryptionStatus {
  @Field({ description: 'The key new values are sealed with (first of ENCRYPTION_KEYS)' })
  public activeKeyId!: string;

  @Field(() => [String], { description: 'Every configured key id' })
  public keyIds!: string[];

  @Field(() => [KeyUsage], {
    description:
      'Stored sealed values per key id (MFA secrets, pending enrollments, private signing keys); an id missing from keyIds means data that cannot be opened',
  })
  public recordsByKey!: KeyUsage[];

  @Field({ description: 'A seal/open round trip succeeded with every configured key' })
  public selfTestPassed!: boolean;
}
