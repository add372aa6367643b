import { CommandContext, RequestMeta } from '../context';
import { DomainError } from '../../errors';
import { handle } from '../handle';
import { userDecider } from './decider';
import { Role, userStream, UserId } from '../../events/user';
import { Position } from '../../eventstore/types';

const now = (ctx: CommandContext): string => ctx.clock().toISOString();

const notSelf = (meta: RequestMeta, userId: string, what: string): void => {
  // An admin cannot lock themselves out through the admin routes; another admin can.
  if (meta.actorId === userId) throw new DomainError('CONFLICT', `You cannot ${what} your own account here`);
};

/**
 * Changes a user's role. Their sessions end and their access tokens are refused at once, so
 * a token issued under the old role stops working on its next request.
 */
export async function changeRole(ctx: CommandContext, userId: UserId, role: Role, meta: RequestMeta): Promise<Position | null> {
  notSelf(meta, userId, 'change the role of');
  const r = await handle(ctx.store, userStream(userId), userDecider, { type: 'ChangeRole', role, now: now(ctx) }, meta);
  await ctx.revocations.revokeSessions(r.events.flatMap((e) => (e.type === 'RoleChanged' ? e.data.endedSessionIds : [])));
  return r.position;
}

/** Soft delete by an admin: sessions end now; sign-in is refused until restored. */
export async function deactivateUser(ctx: CommandContext, userId: UserId, meta: RequestMeta): Promise<Position | null> {
  notSelf(meta, userId, 'deactivate');
  const r = await handle(ctx.store, userStream(userId), userDecider, { type: 'Deactivate', by: 'admin', now: now(ctx) }, meta);
  await ctx.revocations.revokeSessions(r.events.flatMap((e) => (e.type === 'UserDeactivated' ? e.data.endedSessionIds : [])));
  return r.position;
}

/** Restores a soft-deleted user. No old session comes back: they sign in afresh. */
export async function restoreUser(ctx: CommandContext, userId: UserId, meta: RequestMeta): Promise<Position | null> {
  return (await handle(ctx.store, userStream(userId), userDecider, { type: 'Restore', now: now(ctx) }, meta)).position;
}
