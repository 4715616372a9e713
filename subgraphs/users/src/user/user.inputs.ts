import { IsEmail, IsOptional, Length, Matches, MaxLength } from 'class-validator';
import { Field, InputType } from 'type-graphql';

/** At least 10 characters, letters mixed with digits or symbols. */
export const PASSWORD_RULE = /^(?=.*[A-Za-z])(?=.*[^A-Za-z]).*$/;
const WEAK = { message: 'password must mix letters with digits or symbols' };

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
  @Length(10, 128)
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

  @Field({ nullable: true, description: 'The current TOTP code, for users with MFA' })
  @IsOptional()
  @Length(6, 12)
  public mfaCode?: string;
}
