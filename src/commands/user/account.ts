import { randomUUID } from 'node:crypto';
import { CommandContext, RequestMeta } from '../context';
import { ContentionError, DomainError, fail } from '../errors';
import { handle, load } from '../handle';
import { latest } from '../positions';
import { newOneTimeToken, sha256 } from '../tokens';
import { claimValue, ownerOf, releaseValue } from '../claims';
import { checkPassword, rotateSession, SignedIn, throttleKeyOf } from '../session/sessions';
import { userDecider, UserState } from './decider';
import { normaliseEmail, normaliseUsername } from '../../events/claim';
import { Role, SessionId, userStream, UserId } from '../../events/user';
import { Position } from '../../eventstore/types';

export interface RegisterInput {
  email: string;
  password: string;
  username: string | null;
  firstName: string | null;
  lastName: string | null;
  name: string | null;
  profile: Record<string, unknown> | null;
  role?: Role;
  /** Accounts created by an operator (admin bootstrap) start verified. */
  verified?: boolean;
  /** False when the address got its share of email: an existing owner is then not told (the answer is the same). */
  notifyIfExisting?: boolean;
}

export type Registered =
  | { outcome: 'created'; userId: UserId; position: Position | null }
  | { outcome: 'existing'; position: Position | null };

const nowIso = (ctx: CommandContext): string => ctx.clock().toISOString();

/**
 * Sign-up. The email is claimed first (its claim stream appended with no_stream), so of any
 * number of racing registrations exactly one creates an account; the owner of an address that
 * is already registered gets an email instead, and the caller cannot tell the difference.
 */
export async function registerUser(ctx: CommandContext, input: RegisterInput, meta: RequestMeta): Promise<Registered> {
  const email = normaliseEmail(input.email);
  const username = input.username === null ? null : input.username.trim();
  const passwordHash = await ctx.hasher.hash(input.password);
  const userId = randomUUID() as UserId;
  const now = ctx.clock();

  const emailClaim = await claimValue(ctx.store, 'email', email, userId, meta, now);
  if (!emailClaim.ok) {
    if (input.notifyIfExisting === false) return { outcome: 'existing', position: null };
    try {
      const noted = await handle(ctx.store, userStream(emailClaim.ownerId), userDecider, { type: 'NoteRegistrationAttempt', email, now: now.toISOString() }, meta);
      return { outcome: 'existing', position: noted.position };
    } catch (err) {
      // Heavy contention on the owner's stream means a notice is being recorded already.
      if (err instanceof ContentionError) return { outcome: 'existing', position: null };
      throw err;
    }
  }
  if (username !== null) {
    const u = await claimValue(ctx.store, 'username', normaliseUsername(username), userId, meta, now);
    if (!u.ok) {
      await releaseValue(ctx.store, 'email', email, userId, meta, now);
      throw new DomainError('CONFLICT', 'That username is taken', [{ path: 'username', message: 'username is already taken' }]);
    }
  }
  const r = await handle(
    ctx.store,
    userStream(userId),
    userDecider,
    {
      type: 'RegisterUser',
      userId,
      email,
      username,
      firstName: input.firstName,
      lastName: input.lastName,
      name: input.name,
      profile: input.profile,
      role: input.role ?? 'viewer',
      passwordHash,
      verification: ctx.config.requireEmailVerification && !input.verified ? newOneTimeToken(ctx.config.tokenSecret, 'verify-email', ctx.config.verificationTtlSeconds, now) : null,
      now: now.toISOString(),
    },
    { ...meta, actorId: meta.actorId ?? userId },
  );
  return { outcome: 'created', userId, position: r.position };
}

/** Follows a verification link (sign-up or change of email). Single use; expires. */
export async function verifyEmail(ctx: CommandContext, input: { token: string; email: string }, meta: RequestMeta): Promise<Position | null> {
  const email = normaliseEmail(input.email);
  const owner = await ownerOf(ctx.store, 'email', email);
  if (!owner) fail('INVALID_TOKEN', 'The verification link is invalid or has expired');
  const r = await handle(
    ctx.store,
    userStream(owner!),
    userDecider,
    { type: 'VerifyEmail', email, tokenHash: sha256(input.token), now: nowIso(ctx) },
    { ...meta, actorId: meta.actorId ?? owner },
  );
  for (const e of r.events) {
    if (e.type === 'EmailVerified' && e.data.previousEmail) await releaseValue(ctx.store, 'email', e.data.previousEmail, owner!, meta);
  }
  return r.position;
}

/** Sends a new verification link (the older one stops working). Silent for unknown addresses. */
export async function resendVerification(ctx: CommandContext, rawEmail: string, meta: RequestMeta): Promise<void> {
  const owner = await ownerOf(ctx.store, 'email', normaliseEmail(rawEmail));
  if (!owner) return;
  const token = newOneTimeToken(ctx.config.tokenSecret, 'verify-email', ctx.config.verificationTtlSeconds, ctx.clock());
  await handle(ctx.store, userStream(owner), userDecider, { type: 'RequestEmailVerification', token }, { ...meta, actorId: owner });
}

export async function requestPasswordReset(ctx: CommandContext, rawEmail: string, meta: RequestMeta): Promise<void> {
  const owner = await ownerOf(ctx.store, 'email', normaliseEmail(rawEmail));
  if (!owner) return;
  const token = newOneTimeToken(ctx.config.tokenSecret, 'reset-password', ctx.config.resetTtlSeconds, ctx.clock());
  await handle(ctx.store, userStream(owner), userDecider, { type: 'RequestPasswordReset', token }, { ...meta, actorId: owner });
}

/** Sets a new password from a reset link and ends every session of the user. */
export async function resetPassword(ctx: CommandContext, input: { token: string; email: string; password: string }, meta: RequestMeta): Promise<Position | null> {
  const owner = await ownerOf(ctx.store, 'email', normaliseEmail(input.email));
  if (!owner) fail('INVALID_TOKEN', 'The reset link is invalid or has expired');
  const tokenHash = sha256(input.token);
  const now = nowIso(ctx);
  // The link is checked before a bcrypt hash is paid for, so guessed tokens cost next to nothing.
  userDecider.decide({ type: 'ResetPassword', tokenHash, passwordHash: '', now }, await loadUser(ctx, owner!));
  const passwordHash = await ctx.hasher.hash(input.password);
  const r = await handle(
    ctx.store,
    userStream(owner!),
    userDecider,
    { type: 'ResetPassword', tokenHash, passwordHash, now },
    { ...meta, actorId: owner },
  );
  await ctx.revocations.revokeSessions(r.events.flatMap((e) => (e.type === 'PasswordReset' ? e.data.endedSessionIds : [])));
  return r.position;
}

export const loadUser = async (ctx: CommandContext, userId: string): Promise<UserState> => (await load(ctx.store, userStream(userId), userDecider)).state;

/**
 * Changes the password (the current one required), keeps this device signed in with a fresh
 * pair, and ends every other session: their access tokens die now, their streams via the job.
 */
export async function changePassword(
  ctx: CommandContext,
  input: { userId: UserId; sessionId: string; currentPassword: string; newPassword: string },
  meta: RequestMeta,
): Promise<SignedIn> {
  const user = await loadUser(ctx, input.userId);
  const currentPasswordMatches = await checkPassword(ctx, throttleKeyOf(input.userId), input.currentPassword, user.exists ? user.passwordHash : null);
  const passwordHash = currentPasswordMatches ? await ctx.hasher.hash(input.newPassword) : '';
  const r = await handle(
    ctx.store,
    userStream(input.userId),
    userDecider,
    { type: 'ChangePassword', currentPasswordMatches, passwordHash, keepSessionId: input.sessionId as SessionId, now: nowIso(ctx) },
    meta,
  );
  await ctx.revocations.revokeSessions(r.events.flatMap((e) => (e.type === 'PasswordChanged' ? e.data.endedSessionIds : [])));
  const signedIn = await rotateSession(ctx, r.state, input.sessionId, meta);
  return { ...signedIn, position: latest(r.position, signedIn.position) };
}

export interface ProfilePatch {
  firstName?: string | null;
  lastName?: string | null;
  name?: string | null;
  username?: string | null;
  profile?: Record<string, unknown> | null;
  email?: string;
  currentPassword?: string;
}

/**
 * Profile edits. A new username is claimed before the old one is released; a new email is
 * claimed, then stays pending until the link sent to it is followed (the old address is told).
 */
export async function updateProfile(ctx: CommandContext, userId: UserId, patch: ProfilePatch, meta: RequestMeta): Promise<Position | null> {
  const user = await loadUser(ctx, userId);
  if (!user.exists || user.deactivated) fail('NOT_FOUND', 'User not found');
  const positions: (Position | null)[] = [];
  const newEmail = patch.email === undefined ? undefined : normaliseEmail(patch.email);

  if (newEmail !== undefined && newEmail !== user.email) {
    const currentPasswordMatches = await checkPassword(ctx, throttleKeyOf(userId), patch.currentPassword ?? '', user.passwordHash);
    if (!currentPasswordMatches) {
      throw new DomainError('WRONG_PASSWORD', 'The current password is required to change the email', [
        { path: 'currentPassword', message: 'currentPassword is wrong or missing' },
      ]);
    }
  }

  const newUsername = patch.username === undefined ? undefined : patch.username === null ? null : patch.username.trim();
  const usernameChanges = newUsername !== undefined && normaliseUsername(newUsername ?? '') !== normaliseUsername(user.username ?? '');
  if (usernameChanges && newUsername) {
    const c = await claimValue(ctx.store, 'username', normaliseUsername(newUsername), userId, meta);
    if (!c.ok) throw new DomainError('CONFLICT', 'That username is taken', [{ path: 'username', message: 'username is already taken' }]);
  }

  const changes: Parameters<typeof userDecider.decide>[0] = {
    type: 'UpdateProfile',
    changes: { firstName: patch.firstName, lastName: patch.lastName, name: patch.name, profile: patch.profile, username: newUsername },
  };
  positions.push((await handle(ctx.store, userStream(userId), userDecider, changes, meta)).position);
  if (usernameChanges && user.username) await releaseValue(ctx.store, 'username', normaliseUsername(user.username), userId, meta);

  if (newEmail !== undefined && newEmail !== user.email) {
    const c = await claimValue(ctx.store, 'email', newEmail, userId, meta);
    if (!c.ok) throw new DomainError('CONFLICT', 'That email is already in use', [{ path: 'email', message: 'email is already in use' }]);
    const token = newOneTimeToken(ctx.config.tokenSecret, 'change-email', ctx.config.verificationTtlSeconds, ctx.clock());
    const r = await handle(
      ctx.store,
      userStream(userId),
      userDecider,
      { type: 'RequestEmailChange', newEmail, currentPasswordMatches: true, token },
      meta,
    );
    positions.push(r.position);
    // An earlier change that was never confirmed gives its address back.
    const superseded = user.verification?.email;
    if (superseded && superseded !== user.email && superseded !== newEmail) await releaseValue(ctx.store, 'email', superseded, userId, meta);
  }
  return latest(...positions);
}

/** Self-service deactivation (soft delete): the password is required; sessions end now. */
export async function deactivateSelf(ctx: CommandContext, userId: UserId, currentPassword: string, meta: RequestMeta): Promise<Position | null> {
  const user = await loadUser(ctx, userId);
  const currentPasswordMatches = await checkPassword(ctx, throttleKeyOf(userId), currentPassword, user.exists ? user.passwordHash : null);
  const r = await handle(ctx.store, userStream(userId), userDecider, { type: 'Deactivate', by: 'self', currentPasswordMatches, now: nowIso(ctx) }, meta);
  await ctx.revocations.revokeSessions(r.events.flatMap((e) => (e.type === 'UserDeactivated' ? e.data.endedSessionIds : [])));
  return r.position;
}
