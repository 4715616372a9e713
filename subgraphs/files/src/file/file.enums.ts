import { registerEnumType } from 'type-graphql';

/** Where a file is in its life: uploaded by the client, then scanned before anyone may download it. */
export enum FileStatus {
  PENDING_UPLOAD = 'PENDING_UPLOAD',
  SCANNING = 'SCANNING',
  CLEAN = 'CLEAN',
  INFECTED = 'INFECTED',
  FAILED = 'FAILED',
}

registerEnumType(FileStatus, {
  name: 'FileStatus',
  description: 'PENDING_UPLOAD → (completeFileUpload) SCANNING → CLEAN | INFECTED (quarantined) | FAILED (rescanFile retries)',
});
