import { FieldError, fail } from '../../errors';
import { Decider } from '../decider';
import { PermissionEvent, PermissionId } from '../../events/permission';
import { ServiceId } from '../../events/service';

/**
 * Permission names: 3 to 64 characters, a letter first, then letters, digits and `: . _ -`
 * (`billing:read`, `reports.export`). Kept as given; unique case-insensitively.
 */
export const PERMISSION_NAME_MIN = 3;
export const PERMISSION_NAME_MAX = 64;
export const PERMISSION_NAME_PATTERN = /^[a-z][a-z0-9:._-]*$/i;
export const MAX_SERVICES_PER_PERMISSION = 100;

export interface PermissionState {
  exists: boolean;
  deleted: boolean;
  id: PermissionId | null;
  name: string;
  serviceIds: ServiceId[];
}

export const initialPermissionState = (): PermissionState => ({ exists: false, deleted: false, id: null, name: '', serviceIds: [] });

export const isLivePermission = (s: PermissionState): boolean => s.exists && !s.deleted;

export function evolvePermission(s: PermissionState, e: PermissionEvent): PermissionState {
  switch (e.type) {
    case 'PermissionCreated':
      return { ...s, exists: true, id: e.data.permissionId, name: e.data.name, serviceIds: e.data.serviceIds };
    case 'PermissionUpdated':
      return { ...s, name: e.data.name ?? s.name, serviceIds: e.data.serviceIds ?? s.serviceIds };
    case 'PermissionDeleted':
      return { ...s, deleted: true };
  }
}

/**
 * `unknownServiceIds` are the ids among `serviceIds` whose service streams do not exist or are
 * deleted: the use-case reads those streams (never a read table) and the decider refuses them.
 */
export type PermissionCommand =
  | { type: 'CreatePermission'; permissionId: PermissionId; name: string; serviceIds: ServiceId[]; unknownServiceIds: readonly string[] }
  | { type: 'UpdatePermission'; name?: string; serviceIds?: ServiceId[]; unknownServiceIds: readonly string[] }
  | { type: 'DeletePermission' };

export const nameErrors = (name: string): FieldError[] =>
  name.length < PERMISSION_NAME_MIN || name.length > PERMISSION_NAME_MAX
    ? [{ path: 'name', message: `name must be ${PERMISSION_NAME_MIN} to ${PERMISSION_NAME_MAX} characters` }]
    : PERMISSION_NAME_PATTERN.test(name)
      ? []
      : [{ path: 'name', message: 'name must start with a letter and contain only letters, digits and : . _ -' }];

/** One error per failing entry, named by its index: `serviceIds[2]`. */
export const serviceIdsErrors = (ids: readonly string[], unknown: readonly string[]): FieldError[] => {
  if (ids.length === 0) return [{ path: 'serviceIds', message: 'serviceIds must list at least one service' }];
  if (ids.length > MAX_SERVICES_PER_PERMISSION)
    return [{ path: 'serviceIds', message: `serviceIds must list at most ${MAX_SERVICES_PER_PERMISSION} services` }];
  const errors: FieldError[] = [];
  const unknownSet = new Set(unknown);
  ids.forEach((id, i) => {
    if (ids.indexOf(id) !== i) errors.push({ path: `serviceIds[${i}]`, message: `serviceIds[${i}] is listed twice` });
    else if (unknownSet.has(id)) errors.push({ path: `serviceIds[${i}]`, message: `serviceIds[${i}] is not a known service` });
  });
  return errors;
};

const refuse = (errors: FieldError[]): void => {
  if (errors.length) fail('VALIDATION_FAILED', 'The permission has invalid fields', errors);
};

const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x) => b.includes(x));

export function decidePermission(c: PermissionCommand, s: PermissionState): PermissionEvent[] {
  switch (c.type) {
    case 'CreatePermission':
      if (s.exists) fail('CONFLICT', 'Permission already exists');
      refuse([...nameErrors(c.name), ...serviceIdsErrors(c.serviceIds, c.unknownServiceIds)]);
      return [{ type: 'PermissionCreated', data: { permissionId: c.permissionId, name: c.name, serviceIds: c.serviceIds } }];
    case 'UpdatePermission': {
      if (!isLivePermission(s)) fail('NOT_FOUND', 'Permission not found');
      refuse([
        ...(c.name === undefined ? [] : nameErrors(c.name)),
        ...(c.serviceIds === undefined ? [] : serviceIdsErrors(c.serviceIds, c.unknownServiceIds)),
      ]);
      const data: Extract<PermissionEvent, { type: 'PermissionUpdated' }>['data'] = {};
      if (c.name !== undefined && c.name !== s.name) {
        data.name = c.name;
        data.previousName = s.name;
      }
      if (c.serviceIds !== undefined && !sameSet(c.serviceIds, s.serviceIds)) data.serviceIds = c.serviceIds;
      return Object.keys(data).length ? [{ type: 'PermissionUpdated', data }] : [];
    }
    case 'DeletePermission':
      if (!isLivePermission(s)) fail('NOT_FOUND', 'Permission not found');
      return [{ type: 'PermissionDeleted', data: { name: s.name } }];
  }
}

export const permissionDecider: Decider<PermissionCommand, PermissionEvent, PermissionState> = {
  initialState: initialPermissionState,
  evolve: evolvePermission,
  decide: decidePermission,
};
