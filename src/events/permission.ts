import { ServiceId } from './service';

/**
 * Events of the `permission-<id>` streams (a named permission over a set of services) and of
 * the `userGrants-<userId>` streams (the permissions a user holds, always as the full set).
 */
export type PermissionId = string & { readonly __brand: 'PermissionId' };

export const permissionStream = (id: string): string => `permission-${id}`;
export const userGrantsStream = (userId: string): string => `userGrants-${userId}`;

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
