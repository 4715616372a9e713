import { getModelForClass, index, modelOptions, prop } from '@typegoose/typegoose';

/**
 * An issued password-reset token: only the SHA-256 of its random `jti` is stored. Single use
 * (`usedAt`, set by a compare-and-set); every use checks `expiresAt` itself (no TTL index needed).
 */
@index({ userId: 1 })
@modelOptions({ schemaOptions: { collection: 'passwordResets', timestamps: true, versionKey: false } })
export class PasswordReset {
  /** SHA-256 (hex) of the token's jti. */
  @prop({ type: String, required: true })
  public _id!: string;

  @prop({ type: String, required: true })
  public userId!: string;

  @prop({ type: Date, required: true })
  public expiresAt!: Date;

  @prop({ type: Date })
  public usedAt?: Date | null;
}

export const PasswordResetModel = getModelForClass(PasswordReset);
