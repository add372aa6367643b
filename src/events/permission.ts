import { ServiceId } from './service';
import { idInStream } from './streams';
import { UserId } from './user';

/**
 * Events of the `permission-<id>` streams (a named permission over a set of services) and of
 * the `userGrants-<userId>` streams (the permissions a user holds, always as the full set).
 */
export type PermissionId = string & { readonly __brand: 'PermissionId' };

const PERMISSION_PREFIX = 'permission-';
const USER_GRANTS_PREFIX = 'userGrants-';
export const permissionStream = (id: string): string => `${PERMISSION_PREFIX}${id}`;
export const permissionIdOf = (streamId: string): PermissionId => idInStream(streamId, PERMISSION_PREFIX) as PermissionId;
export const userGrantsStream = (userId: string): string => `${USER_GRANTS_PREFIX}${userId}`;
/** The user whose grants a `userGrants-<userId>` stream holds. */
export const userIdOfGrants = (streamId: string): UserId => idInStream(streamId, USER_GRANTS_PREFIX) as UserId;

export type PermissionEvent =
  | { type: 'PermissionCreated'; data: { permissionId: PermissionId; name: string; serviceIds: ServiceId[] } }
  /**
   * Only what changed is present: a rename carries the name it replaced (the claim to give
   * back, and the audit trail); `serviceIds` is the whole new set.
   */
  | { type: 'PermissionUpdated'; data: { name?: string; previousName?: string; serviceIds?: ServiceId[] } }
  | { type: 'PermissionDeleted'; data: { name: string } };

export type PermissionEventType = PermissionEvent['type'];

export type UserGrantsEvent = { type: 'UserPermissionsSet'; data: { permissionIds: PermissionId[] } };
