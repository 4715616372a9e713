import { getModelForClass, index, modelOptions, prop } from '@typegoose/typegoose';

/**
 * A Web Push subscription of one device (`registerDeviceToken`). `_id` is a hash of the endpoint;
 * the keys only ever leave in encrypted pushes. `invalid` once the push service said 404/410.
 */
@index({ userId: 1, invalid: 1 })
@modelOptions({ schemaOptions: { collection: 'deviceTokens', timestamps: true, versionKey: false } })
export class DeviceToken {
  @prop({ type: String, required: true })
  public _id!: string;

  @prop({ type: String, required: true })
  public userId!: string;

  @prop({ type: String, required: true })
  public platform!: string;

  @prop({ type: String, required: true })
  public endpoint!: string;

  @prop({ type: String, required: true })
  public p256dh!: string;

  @prop({ type: String, required: true })
  public auth!: string;

  @prop({ type: Boolean, default: false })
  public invalid!: boolean;
}

export const DeviceTokenModel = getModelForClass(DeviceToken);
