import { randomUUID } from 'node:crypto';
import { CommandContext, RequestMeta } from '../context';
import { claimValue, releaseValue, writeRenaming } from '../claims';
import { DomainError, fail } from '../../errors';
import { handle, load } from '../handle';
import { isLive } from '../service/decider';
import { loadService } from '../service/services';
import { initialPermissionState, isLivePermission, PermissionCommand, permissionDecider, PermissionState } from './decider';
import { normaliseCatalogueName } from '../../events/claim';
import { PermissionId, permissionStream } from '../../events/permission';
import { ServiceId } from '../../events/service';
import { Position } from '../../eventstore/types';

export interface NewPermission {
  name: string;
  serviceIds: ServiceId[];
}

export interface PermissionPatch {
  name?: string;
  serviceIds?: ServiceId[];
}

const lower = (ids: ServiceId[]): ServiceId[] => ids.map((id) => id.toLowerCase() as ServiceId);

const nameTaken = (): never => {
  throw new DomainError('CONFLICT', 'A permission with that name exists', [{ path: 'name', message: 'name is already taken' }]);
};

export const loadPermission = async (ctx: CommandContext, id: string): Promise<PermissionState> =>
  (await load(ctx.store, permissionStream(id), permissionDecider)).state;

/** The ids whose service stream is missing or deleted: read from the streams, never a table. */
export async function unknownServices(ctx: CommandContext, ids: readonly string[]): Promise<string[]> {
  const distinct = [...new Set(ids)];
  const live = await Promise.all(distinct.map(async (id) => isLive(await loadService(ctx, id))));
  return distinct.filter((_, i) => !live[i]);
}

/** Runs the decider on a state without appending: invalid input fails before any name is claimed. */
const precheck = (command: PermissionCommand, state: PermissionState): void => {
  permissionDecider.decide(command, state);
};

/**
 * Creates a permission over existing services. Validation comes first (422), then the name is
 * claimed (409 when taken), then the permission stream is written.
 */
export async function createPermission(
  ctx: CommandContext,
  input: NewPermission,
  meta: RequestMeta,
): Promise<{ id: PermissionId; position: Position | null }> {
  const permissionId = randomUUID() as PermissionId;
  const name = input.name.trim();
  const serviceIds = lower(input.serviceIds);
  const command: PermissionCommand = {
    type: 'CreatePermission',
    permissionId,
    name,
    serviceIds,
    unknownServiceIds: await unknownServices(ctx, serviceIds),
  };
  precheck(command, initialPermissionState());
  const key = normaliseCatalogueName(name);
  if (!(await claimValue(ctx.store, 'permissionName', key, permissionId, meta, ctx.clock())).ok) nameTaken();
  try {
    // A fresh id: the stream cannot exist yet, so there is nothing to read.
    const r = await handle(ctx.store, permissionStream(permissionId), permissionDecider, command, meta, {
      state: initialPermissionState(),
      revision: -1n,
    });
    return { id: permissionId, position: r.position };
  } catch (err) {
    await releaseValue(ctx.store, 'permissionName', key, permissionId, meta);
    throw err;
  }
}

/** Renames and/or replaces the service set. A new name is claimed before the old is given back. */
export async function updatePermission(
  ctx: CommandContext,
  id: string,
  patch: PermissionPatch,
  meta: RequestMeta,
): Promise<Position | null> {
  const current = await loadPermission(ctx, id);
  if (!isLivePermission(current)) fail('NOT_FOUND', 'Permission not found');
  const name = patch.name === undefined ? undefined : patch.name.trim();
  const serviceIds = patch.serviceIds === undefined ? undefined : lower(patch.serviceIds);
  const command: PermissionCommand = {
    type: 'UpdatePermission',
    name,
    serviceIds,
    unknownServiceIds: serviceIds ? await unknownServices(ctx, serviceIds) : [],
  };
  precheck(command, current);
  const newKey = name === undefined ? null : normaliseCatalogueName(name);
  const keyNow = async () => normaliseCatalogueName((await loadPermission(ctx, id)).name);
  return writeRenaming(
    ctx.store,
    'permissionName',
    id,
    meta,
    ctx.clock(),
    { newKey, currentKey: normaliseCatalogueName(current.name), keyNow, taken: nameTaken },
    async () => {
      const r = await handle(ctx.store, permissionStream(id), permissionDecider, command, meta);
      const replacedKeys = r.events.flatMap((e) =>
        e.type === 'PermissionUpdated' && e.data.previousName !== undefined ? [normaliseCatalogueName(e.data.previousName)] : [],
      );
      return { value: r.position, replacedKeys };
    },
  );
}

/** Deletes a permission (its stream keeps the history), frees its name; grants of it lapse. */
export async function deletePermission(ctx: CommandContext, id: string, meta: RequestMeta): Promise<Position | null> {
  const r = await handle(ctx.store, permissionStream(id), permissionDecider, { type: 'DeletePermission' }, meta);
  for (const e of r.events) {
    if (e.type === 'PermissionDeleted') await releaseValue(ctx.store, 'permissionName', normaliseCatalogueName(e.data.name), id, meta);
  }
  return r.position;
}
