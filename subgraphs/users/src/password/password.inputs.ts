import { Length, Matches, MaxLength } from 'class-validator';
import { ArgsType, Field } from 'type-graphql';
import { WEAK } from '../user/user.inputs';
import { PASSWORD_MAX, PASSWORD_MIN, PASSWORD_RULE } from './password.rules';

@ArgsType()
export class ChangePasswordArgs {
  @Field()
  @MaxLength(PASSWORD_MAX)
  public currentPassword!: string;

  @Field()
  @Length(PASSWORD_MIN, PASSWORD_MAX)
  @Matches(PASSWORD_RULE, WEAK)
  public newPassword!: string;
}

@ArgsType()
export class ResetPasswordArgs {
  @Field({ description: 'From the reset email' })
  @MaxLength(2048)
  public token!: string;

  @Field()
  @Length(PASSWORD_MIN, PASSWORD_MAX)
  @Matches(PASSWORD_RULE, WEAK)
  public newPassword!: string;
}

@ArgsType()
export class RequestPasswordResetArgs {
  @Field()
  @MaxLength(254)
  public email!: string;
}
