import { Field, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A started MFA enrollment: shown once, confirm it with a code from the app' })
export class MfaEnrollment {
  @Field({ description: 'Base32 TOTP secret, for entering by hand' })
  public secret!: string;

  @Field({ description: 'otpauth:// URL for a QR code' })
  public otpauthUrl!: string;

  @Field(() => [String], { description: 'Single-use codes that stand in for a TOTP code; stored only as hashes, shown only now' })
  public recoveryCodes!: string[];
}
