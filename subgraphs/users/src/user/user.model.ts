import { randomUUID } from 'node:crypto';
import { getModelForClass, index, modelOptions, prop } from '@typegoose/typegoose';
import { Directive, Field, ID, ObjectType, registerEnumType } from 'type-graphql';

export enum Role {
  ADMIN = 'ADMIN',
  USER = 'USER',
}
registerEnumType(Role, { name: 'Role', description: 'Platform-wide role of a user' });

export enum UserStatus {
  ACTIVE = 'ACTIVE',
  LOCKED = 'LOCKED',
}
registerEnumType(UserStatus, { name: 'UserStatus' });

/** A person who signs in. Fields without `@Field` (hashes, versions) never reach the API. */
@Directive('@key(fields: "id")')
@ObjectType({ description: 'A person who signs in' })
@index({ email: 1 }, { unique: true })
@index({ createdAt: 1, _id: 1 })
@index({ roles: 1, status: 1, mfaEnabled: 1 })
@index({ name: 1 })
@index({ mfaSecret: 1 }, { sparse: true })
@index({ mfaPendingSecret: 1 }, { sparse: true })
@modelOptions({ schemaOptions: { collection: 'users', timestamps: true, versionKey: false } })
export class User {
  @Field(() => ID, { name: 'id' })
  @prop({ type: String, default: () => randomUUID() })
  public _id!: string;

  /** Shown in full to the user and to admins, masked to everyone else (see the resolver). */
  @prop({ type: String, required: true, lowercase: true, trim: true })
  public email!: string;

  @Field()
  @prop({ type: String, required: true, trim: true })
  public name!: string;

  @Field(() => [Role])
  @prop({ type: () => [String], enum: Role, default: [Role.USER] })
  public roles!: Role[];

  @Field(() => UserStatus)
  @prop({ type: String, enum: UserStatus, default: UserStatus.ACTIVE })
  public status!: UserStatus;

  @Field()
  @prop({ type: Boolean, default: false })
  public mfaEnabled!: boolean;

  @prop({ type: String, required: true })
  public passwordHash!: string;

  /** Bumped to revoke every access token of the user at once. */
  @prop({ type: Number, default: 0 })
  public tokenVersion!: number;

  /** Why an admin locked the account (admins' note; never shown to the user). */
  @prop({ type: String })
  public lockedReason?: string | null;

  @prop({ type: Date })
  public lockedAt?: Date | null;

  /** Set by `forcePasswordReset`: sign-in is refused until the password is reset. */
  @prop({ type: Boolean, default: false })
  public mustResetPassword!: boolean;

  /** TOTP secret, sealed with the kit's SecretBox (AES-256-GCM, key id inside). */
  @prop({ type: String })
  public mfaSecret?: string | null;

  /** Secret of an enrollment started but not yet confirmed (sealed). */
  @prop({ type: String })
  public mfaPendingSecret?: string | null;

  /** SHA-256 of the unused recovery codes (each works once). */
  @prop({ type: () => [String], default: [] })
  public mfaRecoveryHashes!: string[];

  @prop({ type: () => [String], default: [] })
  public mfaPendingRecoveryHashes!: string[];

  /** Set by `resetUserMfa`: the next sign-in must enroll MFA again. */
  @prop({ type: Boolean, default: false })
  public mfaEnrollmentRequired!: boolean;

  @Field(() => Date, { nullable: true })
  @prop({ type: Date })
  public lastSeenAt?: Date;

  @Field(() => Date)
  public createdAt!: Date;

  public updatedAt!: Date;
}

export const UserModel = getModelForClass(User);
