import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startMoto, type Moto } from '@tm/tools/testing/moto';

/** moto's server mode (started by tools/src/testing/moto.ts) answers the real S3 API. */

let moto: Moto;
let s3: S3Client;

beforeAll(async () => {
  moto = await startMoto();
  s3 = new S3Client({
    endpoint: moto.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}, 90_000);

afterAll(async () => {
  s3?.destroy();
  await moto?.stop();
});

it('PutObject then GetObject round-trips the bytes and content type', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'tm-moto-test' }));
  const body = Buffer.from('hello from the files tests\n');
  await s3.send(new PutObjectCommand({ Bucket: 'tm-moto-test', Key: 'a/b.txt', Body: body, ContentType: 'text/plain' }));
  const got = await s3.send(new GetObjectCommand({ Bucket: 'tm-moto-test', Key: 'a/b.txt' }));
  expect(got.ContentType).toBe('text/plain');
  expect(got.ContentLength).toBe(body.length);
  expect(Buffer.from(await got.Body!.transformToByteArray())).toEqual(body);
});

it('stop() ends the server', async () => {
  const other = await startMoto();
  const res = await fetch(`${other.endpoint}/moto-api/`);
  expect(res.ok).toBe(true);
  await other.stop();
  await expect(fetch(`${other.endpoint}/moto-api/`)).rejects.toThrow();
}, 90_000);
