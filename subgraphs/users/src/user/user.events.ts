/**
 * What the users subgraph publishes on its stream (`events:users`, via the kit's EventPublisher).
 * Consumers: notifications (emails). Payloads carry no usable secret or PII in clear: such
 * fields are sealed with the SecretBox (ENCRYPTION_KEYS, shared with the consumer), no AAD.
 */
export const UserEvents = {
  /** A password reset was asked for an existing, active account: email the link. */
  PasswordResetRequested: 'PasswordResetRequested',
} as const;

export interface PasswordResetRequestedPayload extends Record<string, unknown> {
  userId: string;
  /** The reset token (sealed). The link is `<app>/reset-password?token=<token>`. */
  resetTokenEncrypted: string;
  /** Where to send it (sealed). */
  emailEncrypted: string;
  expiresAt: string;
}
