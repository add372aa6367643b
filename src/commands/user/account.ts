import { randomUUID } from 'node:crypto';
import { CommandContext, RequestMeta } from '../context';
import { ContentionError, DomainError, fail } from '../../errors';
import { handle, load } from '../handle';
import { latest } from '../positions';
import { newOneTimeToken, parseAccountLinkToken, sha256 } from '../tokens';
import { claimValue, ownerOf, releaseValue, writeRenaming } from '../claims';
import { checkPassword, rotateSession, SignedIn, throttleKeyOf } from '../session/sessions';
import { CheckedPassword, EmailChange, userDecider, UserState } from './decider';
import { normaliseEmail, normaliseUsername } from '../../events/claim';
import { OneTimeToken, Role, SessionId, userStream, UserId } from '../../events/user';
import { EventStore, Position } from '../../eventstore/types';

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
}

export type Registered =
  | { outcome: 'created'; userId: UserId; position: Position | null }
  /** The address has an account (`ownerId`): the caller tells its owner, off the request (noteRegistrationAttempt). */
  | { outcome: 'existing'; ownerId: string };

const nowIso = (ctx: CommandContext): string => ctx.clock().toISOString();

/**
 * Sign-up. The email is claimed first (its claim stream appended with no_stream), so of any
 * number of racing registrations exactly one creates an account. For an address that is
 * already registered nothing is written here: the caller queues the notice to its owner, so
 * that neither the answer nor the work done before it tells the two apart.
 */
export async function registerUser(ctx: CommandContext, input: RegisterInput, meta: RequestMeta): Promise<Registered> {
  const email = normaliseEmail(input.email);
  const username = input.username === null ? null : input.username.trim();
  const passwordHash = await ctx.hasher.hash(input.password);
  const userId = randomUUID() as UserId;
  const now = ctx.clock();

  const emailClaim = await claimValue(ctx.store, 'email', email, userId, meta, now);
  if (!emailClaim.ok) return { outcome: 'existing', ownerId: emailClaim.ownerId };
  const usernameKey = username === null ? null : normaliseUsername(username);
  if (usernameKey !== null && !(await claimValue(ctx.store, 'username', usernameKey, userId, meta, now)).ok) {
    await releaseValue(ctx.store, 'email', email, userId, meta, now);
    usernameTaken();
  }
  try {
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
        verification:
          ctx.config.requireEmailVerification && !input.verified
            ? newOneTimeToken(ctx.config.tokenSecret, 'verify-email', ctx.config.verificationTtlSeconds, now)
            : null,
        now: now.toISOString(),
      },
      { ...meta, actorId: meta.actorId ?? userId },
      // A stream named by a fresh random id: nothing to read.
      { state: userDecider.initialState(), revision: -1n },
    );
    return { outcome: 'created', userId, position: r.position };
  } catch (err) {
    // The claims guarded a write that failed: given back, unless the account exists after all
    // (the answer lost after the commit). Left over only if this fails too: see ORPHAN_CLAIM_SECONDS.
    if (!(await loadUser(ctx, userId)).exists) {
      await releaseValue(ctx.store, 'email', email, userId, meta, now);
      if (usernameKey !== null) await releaseValue(ctx.store, 'username', usernameKey, userId, meta, now);
    }
    throw err;
  }
}

const usernameTaken = (): never => {
  throw new DomainError('CONFLICT', 'That username is taken', [{ path: 'username', message: 'username is already taken' }]);
};

/**
 * Follows a verification link (sign-up or change of email). Single use; expires. A change's new
 * address is claimed here, once the link has shown that its mailbox wants it, and not when the
 * change was asked for: asking cannot block an address. The address it replaces is given back.
 */
export async function verifyEmail(
  ctx: CommandContext,
  input: { token: string; email: string },
  meta: RequestMeta,
): Promise<Position | null> {
  const email = normaliseEmail(input.email);
  // A change link names its account (nothing else leads from the new address to it yet); a
  // sign-up link's address is claimed by its account since the sign-up.
  const link = parseAccountLinkToken(input.token);
  const owner = link ? link.userId : await ownerOf(ctx.store, 'email', email);
  if (!owner) fail('INVALID_TOKEN', 'The verification link is invalid or has expired');
  const stream = userStream(owner!);
  const loaded = await load(ctx.store, stream, userDecider);
  const command = { type: 'VerifyEmail', email, tokenHash: sha256(link ? link.token : input.token), now: nowIso(ctx) } as const;
  // The link is checked first: a wrong, spent or expired one claims nothing.
  userDecider.decide(command, loaded.state);
  const asOwner = { ...meta, actorId: meta.actorId ?? owner };
  const rename = {
    newKey: email,
    currentKey: loaded.state.email,
    keyNow: async () => (await loadUser(ctx, owner!)).email,
    taken: emailTaken,
  };
  return writeRenaming(ctx.store, 'email', owner!, asOwner, ctx.clock(), rename, async () => {
    const r = await handle(ctx.store, stream, userDecider, command, asOwner, loaded);
    return {
      value: r.position,
      replacedKeys: r.events.flatMap((e) => (e.type === 'EmailVerified' && e.data.previousEmail ? [e.data.previousEmail] : [])),
    };
  });
}

/** Only the holder of the new address's mailbox gets here: telling them tells nobody else anything. */
const emailTaken = (): never => {
  throw new DomainError('CONFLICT', 'That email address belongs to another account now', [
    { path: 'email', message: 'email is already in use' },
  ]);
};

/**
 * Notes a sign-up attempt on an existing account (its owner is told by email, at most once per
 * quiet period). Runs in the worker (AccountJob): queued by the request, like the new account's work.
 */
export async function noteRegistrationAttempt(
  store: EventStore,
  ownerId: string,
  email: string,
  at: string,
  meta: RequestMeta,
): Promise<void> {
  try {
    await handle(store, userStream(ownerId), userDecider, { type: 'NoteRegistrationAttempt', email, now: at }, meta);
  } catch (err) {
    // Heavy contention on the owner's stream means a notice is being recorded already.
    if (!(err instanceof ContentionError)) throw err;
  }
}

/** Sends a new verification link (the older one stops working); nothing for an unknown address. Runs in the worker (AccountJob). */
export async function resendVerification(store: EventStore, email: string, token: OneTimeToken, meta: RequestMeta): Promise<void> {
  const owner = await ownerOf(store, 'email', normaliseEmail(email));
  if (owner) await handle(store, userStream(owner), userDecider, { type: 'RequestEmailVerification', token }, { ...meta, actorId: owner });
}

/** Sends a reset link; nothing for an unknown address. Runs in the worker (AccountJob). */
export async function requestPasswordReset(store: EventStore, email: string, token: OneTimeToken, meta: RequestMeta): Promise<void> {
  const owner = await ownerOf(store, 'email', normaliseEmail(email));
  if (owner) await handle(store, userStream(owner), userDecider, { type: 'RequestPasswordReset', token }, { ...meta, actorId: owner });
}

/** Sets a new password from a reset link and ends every session of the user. */
export async function resetPassword(
  ctx: CommandContext,
  input: { token: string; email: string; password: string },
  meta: RequestMeta,
): Promise<Position | null> {
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

export const loadUser = async (ctx: CommandContext, userId: string): Promise<UserState> =>
  (await load(ctx.store, userStream(userId), userDecider)).state;

/** The current password, checked under the account's lockout, and the hash it was checked against. */
const checkCurrentPassword = async (ctx: CommandContext, userId: UserId, user: UserState, password: string): Promise<CheckedPassword> => ({
  matches: await checkPassword(ctx, throttleKeyOf(userId), password, user.exists ? user.passwordHash : null),
  against: user.passwordHash,
});

/**
 * Changes the password (the current one required), keeps this device signed in with a fresh
 * pair, and ends every other session: their access tokens die now, their streams via the job.
 * Of parallel changes with the same current password one wins; the others find the hash they
 * checked replaced and fail as a wrong password would (as they would one after the other).
 */
export async function changePassword(
  ctx: CommandContext,
  input: { userId: UserId; sessionId: string; currentPassword: string; newPassword: string },
  meta: RequestMeta,
): Promise<SignedIn> {
  const user = await loadUser(ctx, input.userId);
  const currentPassword = await checkCurrentPassword(ctx, input.userId, user, input.currentPassword);
  const passwordHash = currentPassword.matches ? await ctx.hasher.hash(input.newPassword) : '';
  const r = await handle(
    ctx.store,
    userStream(input.userId),
    userDecider,
    { type: 'ChangePassword', currentPassword, passwordHash, keepSessionId: input.sessionId as SessionId, now: nowIso(ctx) },
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

const usernameKeyOf = (username: string | null): string | null => (username ? normaliseUsername(username) : null);

/**
 * Profile edits, all in one event append: every change happens or none does. A new username is
 * claimed before the write, and the names the write replaced are given back after it (of
 * parallel renames, each gives back the one it replaced, so only the last name stays claimed);
 * a failed write gives its claim back. A new email is only recorded as pending, the same way
 * whether or not another account has it (the mail differs: a link, or a notice to its owner);
 * it is claimed when the link is followed (verifyEmail).
 */
export async function updateProfile(ctx: CommandContext, userId: UserId, patch: ProfilePatch, meta: RequestMeta): Promise<Position | null> {
  const user = await loadUser(ctx, userId);
  if (!user.exists || user.deactivated) fail('NOT_FOUND', 'User not found');
  const now = ctx.clock();

  const newEmail = patch.email === undefined ? undefined : normaliseEmail(patch.email);
  let emailChange: EmailChange | null = null;
  if (newEmail !== undefined && newEmail !== user.email) {
    const currentPassword = await checkCurrentPassword(ctx, userId, user, patch.currentPassword ?? '');
    if (!currentPassword.matches) {
      throw new DomainError('WRONG_PASSWORD', 'The current password is required to change the email', [
        { path: 'currentPassword', message: 'currentPassword is wrong or missing' },
      ]);
    }
    emailChange = {
      newEmail,
      currentPassword,
      token: newOneTimeToken(ctx.config.tokenSecret, 'change-email', ctx.config.verificationTtlSeconds, now),
    };
  }

  const newUsername = patch.username === undefined ? undefined : patch.username === null ? null : patch.username.trim();
  const rename = {
    newKey: newUsername === undefined ? null : usernameKeyOf(newUsername),
    currentKey: usernameKeyOf(user.username) ?? '',
    keyNow: async () => usernameKeyOf((await loadUser(ctx, userId)).username) ?? '',
    taken: usernameTaken,
  };
  return writeRenaming(ctx.store, 'username', userId, meta, now, rename, async () => {
    const r = await handle(
      ctx.store,
      userStream(userId),
      userDecider,
      {
        type: 'UpdateProfile',
        changes: { firstName: patch.firstName, lastName: patch.lastName, name: patch.name, profile: patch.profile, username: newUsername },
        emailChange,
      },
      meta,
    );
    // The usernames this write replaced, as decided (a parallel rename may have come in between).
    const replacedKeys = r.events.flatMap((e) =>
      e.type === 'ProfileUpdated'
        ? e.data.changes.flatMap((c) => (c.field === 'username' ? [usernameKeyOf(c.oldValue as string | null)] : []))
        : [],
    );
    return { value: r.position, replacedKeys: replacedKeys.filter((k): k is string => k !== null) };
  });
}

/** Self-service deactivation (soft delete): the password is required; sessions end now. */
export async function deactivateSelf(ctx: CommandContext, userId: UserId, password: string, meta: RequestMeta): Promise<Position | null> {
  const user = await loadUser(ctx, userId);
  const currentPassword = await checkCurrentPassword(ctx, userId, user, password);
  const r = await handle(
    ctx.store,
    userStream(userId),
    userDecider,
    { type: 'Deactivate', by: 'self', currentPassword, now: nowIso(ctx) },
    meta,
  );
  await ctx.revocations.revokeSessions(r.events.flatMap((e) => (e.type === 'UserDeactivated' ? e.data.endedSessionIds : [])));
  return r.position;
}
