import { getModelForClass, modelOptions, prop } from '@typegoose/typegoose';

/** Which roles must use MFA (`enforceMfaForRoles`); one document, `_id: 'mfa'`. */
@modelOptions({ schemaOptions: { collection: 'authPolicies', timestamps: true, versionKey: false } })
export class MfaPolicy {
  @prop({ type: String, required: true })
  public _id!: string;

  @prop({ type: () => [String], default: [] })
  public roles!: string[];

  @prop({ type: String })
  public setBy?: string | null;
}

export const MfaPolicyModel = getModelForClass(MfaPolicy);
export const MFA_POLICY_ID = 'mfa';
