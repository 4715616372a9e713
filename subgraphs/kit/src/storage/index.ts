/** `@tm/kit/storage`: object storage (a local directory or S3) and the signed URLs a service serves for it. */
export * from './config';
export * from './local.routes';
export * from './local.storage';
export * from './mount';
export * from './s3.storage';
export * from './signed-url';
export * from './storage';
