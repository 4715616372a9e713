import 'reflect-metadata';
import { ConfigError } from '@tm/kit/infra';
import { startGateway } from './server';

if (require.main === module) {
  startGateway().catch((err: unknown) => {
    console.error(err instanceof ConfigError ? `gateway: ${err.message}` : err);
    process.exit(1);
  });
}

export { startGateway };
