import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { startMoto, type Moto } from '@tm/tools/testing/moto';
import { S3Storage } from '@tm/kit/storage';
import { storageSuite } from './storage.suite';

/** The S3 adapter against a real S3-compatible server (moto's server mode), presigned URLs over HTTP. */
let moto: Moto;
let storage: S3Storage;
const BUCKET = 'tm-storage-suite';

beforeAll(async () => {
  moto = await startMoto();
  const opts = {
    region: 'us-east-1',
    endpoint: moto.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const admin = new S3Client(opts);
  await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
  admin.destroy();
  storage = new S3Storage({ ...opts, bucket: BUCKET });
}, 90_000);

afterAll(async () => {
  storage?.destroy();
  await moto?.stop();
});

storageSuite('s3', () => storage, { checksUrlSignatures: false });
