import client from 'prom-client';

/** Sign-in and sign-up counts an alert can watch (users' /metrics). Labels are fixed sets: bounded. */
export interface AuthMetrics {
  /** `limited`: refused by the brute-force limit before any password was checked; `failed`; `succeeded`; `other` (MFA or reset owed). */
  loginAttempts: client.Counter<'outcome'>;
  /** `created`, `duplicate` (email already registered), `limited` (registration limit), `invalid`. */
  registrations: client.Counter<'outcome'>;
}

export function createAuthMetrics(registry: client.Registry): AuthMetrics {
  return {
    loginAttempts: new client.Counter({
      name: 'auth_login_attempts_total',
      help: 'Sign-in attempts by outcome (limited = refused before the password check)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    registrations: new client.Counter({
      name: 'auth_registrations_total',
      help: 'Registrations by outcome (duplicate = email already registered, limited = refused by the registration limit)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
  };
}
