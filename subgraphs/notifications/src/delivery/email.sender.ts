import nodemailer, { type Transporter } from 'nodemailer';
import type { RenderedEmail } from './delivery.templates';

/** Sends over SMTP (any relay: a local server in tests, SendGrid's or another in production). */
export class EmailSender {
  private readonly transport: Transporter;

  constructor(
    smtpUrl: string,
    private readonly from: string,
    timeoutMs: number,
  ) {
    this.transport = nodemailer.createTransport(smtpUrl, {
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
    } as never);
  }

  /**
   * `messageId` is stable per notification, so a receiver can tell a resend (after a lost answer
   * from the relay) from a new message.
   */
  async send(to: string, email: RenderedEmail, messageId: string): Promise<void> {
    await this.transport.sendMail({ from: this.from, to, subject: email.subject, text: email.text, html: email.html, messageId });
  }

  close(): void {
    this.transport.close();
  }
}
