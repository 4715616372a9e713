import type { Devstack } from '../devstack';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __tmDevstack?: Devstack }).__tmDevstack?.stop();
}
