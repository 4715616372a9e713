/** What a notification is about; each has a template and default channels (README: Notifications). */
export const NotificationKind = {
  TASK_ASSIGNED: 'TASK_ASSIGNED',
  TASK_COMMENT: 'TASK_COMMENT',
  MENTIONED: 'MENTIONED',
  PROJECT_MEMBER_ADDED: 'PROJECT_MEMBER_ADDED',
  PROJECT_ROLE_CHANGED: 'PROJECT_ROLE_CHANGED',
  TASK_DUE_SOON: 'TASK_DUE_SOON',
  FILE_INFECTED: 'FILE_INFECTED',
  SYSTEM: 'SYSTEM',
} as const;
export type NotificationKind = (typeof NotificationKind)[keyof typeof NotificationKind];
export const NOTIFICATION_KINDS = Object.values(NotificationKind) as NotificationKind[];

export type Channel = 'inApp' | 'email' | 'push';
export const DELIVERY_CHANNELS = ['email', 'push'] as const;
export type DeliveryChannel = (typeof DELIVERY_CHANNELS)[number];

/** Channels a kind uses until the user says otherwise. */
export const DEFAULT_CHANNELS: Record<NotificationKind, Record<Channel, boolean>> = {
  TASK_ASSIGNED: { inApp: true, email: true, push: true },
  TASK_COMMENT: { inApp: true, email: false, push: false },
  MENTIONED: { inApp: true, email: true, push: true },
  PROJECT_MEMBER_ADDED: { inApp: true, email: true, push: false },
  PROJECT_ROLE_CHANGED: { inApp: true, email: false, push: false },
  TASK_DUE_SOON: { inApp: true, email: true, push: true },
  FILE_INFECTED: { inApp: true, email: true, push: false },
  SYSTEM: { inApp: true, email: false, push: false },
};
