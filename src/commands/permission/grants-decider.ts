import { FieldError, fail } from '../../errors';
import { Decider } from '../decider';
import { PermissionId, UserGrantsEvent } from '../../events/permission';

export const MAX_PERMISSIONS_PER_USER = 500;

/** The permissions a user holds: the set last recorded on `userGrants-<userId>`. */
export interface GrantsState {
  permissionIds: PermissionId[];
}

export const initialGrantsState = (): GrantsState => ({ permissionIds: [] });

export const evolveGrants = (_s: GrantsState, e: UserGrantsEvent): GrantsState => ({ permissionIds: e.data.permissionIds });

/**
 * Sets the whole set. `userExists` and `unknownPermissionIds` come from the user's and the
 * permissions' own streams, read by the use-case.
 */
export type GrantsCommand = {
  type: 'SetUserPermissions';
  permissionIds: PermissionId[];
  userExists: boolean;
  unknownPermissionIds: readonly string[];
};

export function decideGrants(c: GrantsCommand, s: GrantsState): UserGrantsEvent[] {
  if (!c.userExists) fail('NOT_FOUND', 'User not found');
  const errors: FieldError[] = [];
  if (c.permissionIds.length > MAX_PERMISSIONS_PER_USER) {
    errors.push({ path: 'permissionIds', message: `permissionIds must list at most ${MAX_PERMISSIONS_PER_USER} permissions` });
  }
  const unknown = new Set(c.unknownPermissionIds);
  c.permissionIds.forEach((id, i) => {
    if (c.permissionIds.indexOf(id) !== i) errors.push({ path: `permissionIds[${i}]`, message: `permissionIds[${i}] is listed twice` });
    else if (unknown.has(id)) errors.push({ path: `permissionIds[${i}]`, message: `permissionIds[${i}] is not a known permission` });
  });
  if (errors.length) fail('VALIDATION_FAILED', 'Some permissions cannot be granted', errors);
  const same = c.permissionIds.length === s.permissionIds.length && c.permissionIds.every((id) => s.permissionIds.includes(id));
  return same ? [] : [{ type: 'UserPermissionsSet', data: { permissionIds: c.permissionIds } }];
}

export const grantsDecider: Decider<GrantsCommand, UserGrantsEvent, GrantsState> = {
  initialState: initialGrantsState,
  evolve: evolveGrants,
  decide: decideGrants,
};
