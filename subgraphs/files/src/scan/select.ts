import { EicarScanner } from './eicar.scanner';
import type { Scanner } from './scanner';

export interface ScannerConfig {
  CLAMAV_HOST?: string | undefined;
  CLAMAV_PORT: number;
  CLAMAV_TIMEOUT_MS: number;
}

/** ClamAV (clamd INSTREAM) when CLAMAV_HOST is set, else the built-in EICAR scanner. */
export function selectScanner(config: ScannerConfig): { scanner: Scanner; name: 'clamav' | 'eicar' } {
  if (!config.CLAMAV_HOST) return { scanner: new EicarScanner(), name: 'eicar' };
  // loaded only when configured
  const { ClamAvScanner } = require('./clamav.scanner') as {
    ClamAvScanner: new (opts: { host: string; port: number; timeoutMs?: number }) => Scanner;
  };
  return {
    scanner: new ClamAvScanner({ host: config.CLAMAV_HOST, port: config.CLAMAV_PORT, timeoutMs: config.CLAMAV_TIMEOUT_MS }),
    name: 'clamav',
  };
}
