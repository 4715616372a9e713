import type { Notification } from '../notification/notification.model';

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** User-supplied text (titles, comments, names, broadcast messages) made inert in HTML. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** One line for headers: no CR/LF (no header injection), bounded. */
function headerSafe(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').slice(0, 200);
}

const SUBJECTS: Record<string, string> = {
  TASK_ASSIGNED: 'A task was assigned to you',
  TASK_COMMENT: 'New comment on a task',
  MENTIONED: 'You were mentioned',
  PROJECT_MEMBER_ADDED: 'You were added to a project',
  PROJECT_ROLE_CHANGED: 'Your project role changed',
  TASK_DUE_SOON: 'A task is due soon',
  FILE_INFECTED: 'A file you uploaded was quarantined',
  SYSTEM: 'System notice',
};

function layout(heading: string, paragraphs: string[], link: string | null, linkLabel: string): string {
  const body = paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n');
  const button = link ? `<p><a href="${escapeHtml(link)}">${escapeHtml(linkLabel)}</a></p>` : '';
  return `<!doctype html><html><body style="font-family:sans-serif"><h2>${escapeHtml(heading)}</h2>\n${body}\n${button}</body></html>`;
}

/** The email of one notification: subject, plain text and HTML (every user-supplied part escaped). */
export function notificationEmail(
  n: Pick<Notification, 'kind' | 'title' | 'body' | 'link'>,
  recipientName: string,
): RenderedEmail {
  const subject = headerSafe(`${SUBJECTS[n.kind] ?? 'Notification'}: ${n.title}`);
  const lines = [`Hello ${recipientName},`, n.title, ...(n.body ? [n.body] : [])];
  const text = [...lines, ...(n.link ? [`Open: ${n.link}`] : [])].join('\n\n');
  return { subject, text, html: layout(n.title, lines, n.link ?? null, 'Open in Task Manager') };
}

/** The daily digest: one email listing a day's notifications. */
export function digestEmail(
  items: Array<Pick<Notification, 'title' | 'body' | 'link' | 'createdAt'>>,
  recipientName: string,
): RenderedEmail {
  const subject = `Your daily digest: ${items.length} notification${items.length === 1 ? '' : 's'}`;
  const text = [
    `Hello ${recipientName},`,
    `Here is what happened:`,
    ...items.map((i) => `- ${i.title}${i.body ? `: ${i.body}` : ''}${i.link ? ` (${i.link})` : ''}`),
  ].join('\n\n');
  const list = items
    .map(
      (i) =>
        `<li>${i.link ? `<a href="${escapeHtml(i.link)}">${escapeHtml(i.title)}</a>` : escapeHtml(i.title)}${i.body ? ` — ${escapeHtml(i.body)}` : ''}</li>`,
    )
    .join('\n');
  const html = `<!doctype html><html><body style="font-family:sans-serif"><h2>Your daily digest</h2><p>Hello ${escapeHtml(recipientName)},</p><ul>\n${list}\n</ul></body></html>`;
  return { subject, text, html };
}

/** The password reset email; the token goes into the link only. */
export function passwordResetEmail(link: string, expiresAt: string): RenderedEmail {
  const when = new Date(expiresAt).toISOString().replace('T', ' ').slice(0, 16);
  return {
    subject: 'Reset your password',
    text: `Someone asked to reset the password of your Task Manager account.\n\nReset it here (valid until ${when} UTC): ${link}\n\nIf it was not you, ignore this email.`,
    html: layout(
      'Reset your password',
      [
        'Someone asked to reset the password of your Task Manager account.',
        `The link is valid until ${when} UTC. If it was not you, ignore this email.`,
      ],
      link,
      'Reset password',
    ),
  };
}

/** Links into the web app. */
export class Links {
  constructor(private readonly base: string) {}

  private url(path: string): string {
    return `${this.base.replace(/\/$/, '')}${path}`;
  }

  task(projectId: string, taskId: string): string {
    return this.url(`/projects/${encodeURIComponent(projectId)}/tasks/${encodeURIComponent(taskId)}`);
  }

  project(projectId: string): string {
    return this.url(`/projects/${encodeURIComponent(projectId)}`);
  }

  passwordReset(token: string): string {
    return this.url(`/reset-password?token=${encodeURIComponent(token)}`);
  }

  notifications(): string {
    return this.url('/notifications');
  }
}
