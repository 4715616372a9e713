import { getModelForClass, modelOptions, prop } from '@typegoose/typegoose';

/** A key pair for access tokens. The public half is published in the JWKS. */
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

  /** JSON of the private JWK. */
  @prop({ type: String, required: true })
  public privateJwk!: string;

  public createdAt!: Date;
}

export const SigningKeyModel = getModelForClass(SigningKey);
