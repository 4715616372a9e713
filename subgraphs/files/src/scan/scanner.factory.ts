import { ClamAvScanner } from './clamav.scanner';
import { EicarScanner } from './eicar.scanner';
import type { Scanner } from './scanner.types';

export interface ScannerConfig {
  CLAMAV_HOST?: string | undefined;
  CLAMAV_PORT: number;
  CLAMAV_TIMEOUT_MS: number;
}

/** ClamAV (clamd INSTREAM) when CLAMAV_HOST is set, else the built-in EICAR scanner. */
export function selectScanner(config: ScannerConfig): { scanner: Scanner; name: 'clamav' | 'eicar' } {
  if (!config.CLAMAV_HOST) return { scanner: new EicarScanner(), name: 'eicar' };
  return {
    scanner: new ClamAvScanner({ host: config.CLAMAV_HOST, port: config.CLAMAV_PORT, timeoutMs: config.CLAMAV_TIMEOUT_MS }),
    name: 'clamav',
  };
}
