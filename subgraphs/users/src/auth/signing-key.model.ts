import { getModelForClass, index, modelOptions, prop } from '@typegoose/typegoose';

/** A key pair for access tokens. The public half is published in the JWKS. */
@index({ createdAt: -1 })
@modelOptions({ schemaOptions: { collection: 'signingKeys', timestamps: true, versionKey: false } })
export class SigningKey {
  /** The JWT `kid`. */
  @prop({ type: String, required: true })
  public _id!: string;

  @prop({ type: String, required: true })
  public alg!: string;

  /** JSON of the public JWK. */
  @prop({ type: String, required: true })
  public publicJwk!: string;

  /** The private JWK's JSON sealed with the SecretBox (bound to this kid); plain JSON only in data from before encryption. */
  @prop({ type: String, required: true })
  public privateJwk!: string;

  public createdAt!: Date;
}

export const SigningKeyModel = getModelForClass(SigningKey);
