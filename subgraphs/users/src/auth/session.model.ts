import { getModelForClass, index, modelOptions, prop } from '@typegoose/typegoose';

/**
 * A signed-in session: one refresh-token family. Only hashes of refresh tokens are stored;
 * earlier ones are kept so a replay is recognised (and ends the session).
 */
@index({ userId: 1, revokedAt: 1, expiresAt: 1 })
@modelOptions({ schemaOptions: { collection: 'sessions', timestamps: true, versionKey: false } })
export class Session {
  @prop({ type: String, required: true })
  public _id!: string;

  @prop({ type: String, required: true })
  public userId!: string;

  @prop({ type: String, required: true })
  public secretHash!: string;

  @prop({ type: () => [String], default: [] })
  public previousHashes!: string[];

  @prop({ type: Date, required: true })
  public expiresAt!: Date;

  /**
   * The user's token version when the session began: once the user's version is higher (a
   * revocation, a role change), the session is over. Absent on sessions from before this field.
   */
  @prop({ type: Number })
  public tokenVersion?: number;

  @prop({ type: Date })
  public revokedAt?: Date;

  @prop({ type: String })
  public revokedReason?: string;
}

export const SessionModel = getModelForClass(Session);
