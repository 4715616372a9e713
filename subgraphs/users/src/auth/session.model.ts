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

  @prop({ type: Date })
  public revokedAt?: Date;

  @prop({ type: String })
  public revokedReason?: string;
}

export const SessionModel = getModelForClass(Session);
