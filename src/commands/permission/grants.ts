import { CommandContext, RequestMeta } from '../context';
import { handle, load } from '../handle';
import { userDecider } from '../user/decider';
import { isLivePermission } from './decider';
import { grantsDecider, GrantsState } from './grants-decider';
import { loadPermission } from './permissions';
import { PermissionId, userGrantsStream } from '../../events/permission';
import { userStream } from '../../events/user';
import { Position } from '../../eventstore/types';

/** The ids whose permission stream is missing or deleted. */
export async function unknownPermissions(ctx: CommandContext, ids: readonly string[]): Promise<string[]> {
  const distinct = [...new Set(ids)];
  const live = await Promise.all(distinct.map(async (id) => isLivePermission(await loadPermission(ctx, id))));
  return distinct.filter((_, i) => !live[i]);
}

export const loadGrants = async (ctx: CommandContext, userId: string): Promise<GrantsState> =>
  (await load(ctx.store, userGrantsStream(userId), grantsDecider)).state;

/**
 * Replaces the set of permissions a user holds (an empty list takes every one away). The user
 * and each permission must exist, as their own streams say: 404 for the user, 422 naming
 * `permissionIds[i]` for a permission. Setting the same set again records nothing.
 */
export async function setUserPermissions(
  ctx: CommandContext,
  userId: string,
  permissionIds: string[],
  meta: RequestMeta,
): Promise<Position | null> {
  const ids = permissionIds.map((id) => id.toLowerCase() as PermissionId);
  const [user, unknownPermissionIds] = await Promise.all([load(ctx.store, userStream(userId), userDecider), unknownPermissions(ctx, ids)]);
  const r = await handle(
    ctx.store,
    userGrantsStream(userId),
    grantsDecider,
    { type: 'SetUserPermissions', permissionIds: ids, userExists: user.state.exists, unknownPermissionIds },
    meta,
  );
  return r.position;
}
