import { IsEmail, IsOptional, Length, Matches, MaxLength } from 'class-validator';
import { Field, InputType } from 'type-graphql';
import { PASSWORD_MAX, PASSWORD_MIN, PASSWORD_RULE, PASSWORD_RULE_MESSAGE } from '../password/password.rules';

/** The message of a too-weak new password (register, reset, change). */
export const WEAK = { message: PASSWORD_RULE_MESSAGE };

@InputType()
export class RegisterInput {
  @Field()
  @IsEmail({}, { message: 'email must be a valid email address' })
  @MaxLength(254)
  public email!: string;

  @Field()
  @Length(1, 100)
  @Matches(/\S/, { message: 'name must not be blank' })
  public name!: string;

  @Field()
  @Length(PASSWORD_MIN, PASSWORD_MAX)
  @Matches(PASSWORD_RULE, WEAK)
  public password!: string;
}

@InputType()
export class LoginInput {
  @Field()
  @MaxLength(254)
  public email!: string;

  @Field()
  @MaxLength(128)
  public password!: string;

  @Field({ nullable: true, description: 'For users with MFA: the current TOTP code, or one of the recovery codes' })
  @IsOptional()
  @Length(6, 32)
  public mfaCode?: string;
}
