import webpush from 'web-push';

export interface PushTarget {
  endpoint: string;
  p256dh: string;
  auth: string;
}

/** The push service answered that the endpoint no longer exists (404/410): the token is invalid. */
export class EndpointGone extends Error {
  override name = 'EndpointGone';
}

/** Web Push (RFC 8030/8291, VAPID RFC 8292) with the `web-push` library. */
export class PushSender {
  constructor(private readonly vapid: { subject: string; publicKey: string; privateKey: string }) {}

  async send(target: PushTarget, payload: Record<string, unknown>, timeoutMs: number): Promise<void> {
    try {
      await webpush.sendNotification(
        { endpoint: target.endpoint, keys: { p256dh: target.p256dh, auth: target.auth } },
        JSON.stringify(payload),
        {
          vapidDetails: this.vapid,
          TTL: 24 * 3600,
          timeout: timeoutMs,
        },
      );
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      if (status === 404 || status === 410) throw new EndpointGone(`push endpoint gone (${status})`);
      throw new Error(`push failed${status ? ` (${status})` : ''}`);
    }
  }
}
