import type { PermissionsClient } from '@tm/kit/contracts';
import type { AuditLog, BaseContext } from '@tm/kit/infra';
import type { PresenceService } from './presence/presence.service';
import type { AdminService } from './admin/admin.service';
import type { AuthService } from './auth/auth.service';
import type { KeyRing } from './auth/keyring.service';
import type { Loaders } from './loaders';
import type { MfaService } from './mfa/mfa.service';
import type { PasswordService } from './password/password.service';
import type { UserService } from './user/user.service';

export interface Services {
  users: UserService;
  auth: AuthService;
  keys: KeyRing;
  mfa: MfaService;
  passwords: PasswordService;
  admin: AdminService;
  audit: AuditLog;
  presence: PresenceService;
  permissions: PermissionsClient;
}

export interface UsersContext extends BaseContext {
  loaders: Loaders;
  services: Services;
  /** Users this request has proven to be (e.g. the one just signed in): they see their own private fields. */
  selfIds: Set<string>;
}
