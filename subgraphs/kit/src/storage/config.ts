import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../infra/config';
import { LocalStorage } from './local.storage';
import { S3Storage } from './s3.storage';
import type { UrlSigner } from './signed-url';

const empty = (v: unknown) => (v === '' ? undefined : v);
const optional = <T extends z.ZodType>(t: T) => z.preprocess(empty, t.optional());

/** The S3 settings every service storing objects shares (one bucket; each service its own key prefix). */
export const s3ConfigShape = {
  S3_BUCKET: optional(z.string().min(3)),
  S3_REGION: z.preprocess(empty, z.string().default('us-east-1')),
  S3_ENDPOINT: optional(z.string().url()),
  /** Where clients reach the S3 server when not at S3_ENDPOINT (presigned URLs are made for it). */
  S3_PUBLIC_ENDPOINT: optional(z.string().url()),
  S3_ACCESS_KEY_ID: optional(z.string().min(1)),
  S3_SECRET_ACCESS_KEY: optional(z.string().min(1)),
  S3_FORCE_PATH_STYLE: z.preprocess(empty, z.enum(['true', 'false']).default('false')),
};

export type S3Config = { [K in keyof typeof s3ConfigShape]: z.infer<(typeof s3ConfigShape)[K]> };

export interface StorageChoice {
  /** `local` or `s3`, and the variable that chose it (named in a configuration error). */
  kind: 'local' | 's3';
  variable: string;
  /** Local storage: the directory objects live in. */
  dir: string;
  /** The service's own address as clients reach it (its storage URLs), known once it listens. */
  publicUrl: () => string;
  signer: UrlSigner;
  /** S3: how long the presigned GET a checked download redirects to lives. */
  redirectSeconds?: number;
}

/**
 * The storage a service's settings choose. S3 downloads are always gated by the service (its own
 * signed URL, checked on every use, then a redirect to a short presigned GET).
 */
export function storageFromConfig(config: S3Config, choice: StorageChoice): LocalStorage | S3Storage {
  if (choice.kind === 'local') return new LocalStorage(path.resolve(choice.dir), choice.publicUrl, choice.signer);
  if (!config.S3_BUCKET) throw new ConfigError(`invalid configuration:\n  S3_BUCKET: required when ${choice.variable}=s3`);
  return new S3Storage({
    bucket: config.S3_BUCKET,
    region: config.S3_REGION,
    ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT } : {}),
    ...(config.S3_PUBLIC_ENDPOINT ? { publicEndpoint: config.S3_PUBLIC_ENDPOINT } : {}),
    ...(config.S3_ACCESS_KEY_ID && config.S3_SECRET_ACCESS_KEY
      ? { credentials: { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY } }
      : {}),
    forcePathStyle: config.S3_FORCE_PATH_STYLE === 'true',
    gate: { signer: choice.signer, publicUrl: choice.publicUrl, redirectSeconds: choice.redirectSeconds ?? 60 },
  });
}
