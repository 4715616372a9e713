import type { AuditLog, BaseContext } from '@tm/kit/infra';
import type { DeliveryQueues } from './delivery/delivery.queues';
import type { DeviceService } from './device/device.service';
import type { Loaders } from './loaders';
import type { NotificationService } from './notification/notification.service';
import type { PreferenceService } from './preference/preference.service';
import type { ScheduleService } from './schedule/schedule.service';

export interface Services {
  notifications: NotificationService;
  preferences: PreferenceService;
  devices: DeviceService;
  queues: DeliveryQueues;
  schedule: ScheduleService;
  audit: AuditLog;
}

export interface NotificationsContext extends BaseContext {
  services: Services;
  loaders: Loaders;
}
