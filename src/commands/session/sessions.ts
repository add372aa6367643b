import { randomUUID } from 'node:crypto';
import { CommandContext, RequestMeta } from '../context';
import { DomainError, fail } from '../../errors';
import { handle, load, loadBoth, Loaded, remembered } from '../handle';
import { latest } from '../positions';
import { newRefreshToken, parseRefreshToken, sha256 } from '../tokens';
import { userDecider, UserState } from '../user/decider';
import { endReasonOf, sessionDecider, SessionState } from './decider';
import { ownerOf } from '../claims';
import { normaliseEmail, normaliseUsername } from '../../events/claim';
import { SessionEndReason, SessionId, userStream, UserId } from '../../events/user';
import { sessionStream } from '../../events/session';
import { Position } from '../../eventstore/types';

export interface IssuedTokens {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  sessionId: string;
  deviceId: string;
}

export interface SignedIn {
  tokens: IssuedTokens;
  userId: UserId;
  position: Position | null;
}

export type LoginIdentifier = { email: string } | { username: string };

const issue = (ctx: CommandContext, user: UserState, session: SessionState, refreshToken: string): IssuedTokens => ({
  accessToken: ctx.accessTokens.sign({
    sub: user.id as string,
    sid: session.sessionId as string,
    role: user.role,
    sv: session.refreshCount,
  }),
  refreshToken,
  tokenType: 'Bearer',
  expiresIn: ctx.accessTokens.ttlSeconds,
  sessionId: session.sessionId as string,
  deviceId: session.deviceId,
});

/** Starts a session for a user whose password (or registration) was just checked. */
async function startSession(
  ctx: CommandContext,
  userId: UserId,
  passwordMatches: boolean,
  deviceId: string,
  meta: RequestMeta,
  user?: Loaded<UserState>,
): Promise<SignedIn> {
  const now = ctx.clock().toISOString();
  const sessionId = randomUUID() as SessionId;
  const recorded = await handle(
    ctx.store,
    userStream(userId),
    userDecider,
    {
      type: 'RecordLogin',
      sessionId,
      deviceId,
      passwordMatches,
      requireVerifiedEmail: ctx.config.requireEmailVerification,
      maxSessions: ctx.config.session.maxPerUser,
      now,
    },
    { ...meta, actorId: userId },
    user,
  );
  const evicted = recorded.events.flatMap((e) => (e.type === 'SessionEnded' ? [e.data.sessionId] : []));
  await ctx.revocations.revokeSessions(evicted);
  const refreshToken = newRefreshToken(sessionId);
  const started = await handle(
    ctx.store,
    sessionStream(sessionId),
    sessionDecider,
    {
      type: 'StartSession',
      sessionId,
      userId,
      deviceId,
      refreshTokenHash: sha256(refreshToken),
      ip: meta.ip,
      userAgent: meta.userAgent,
      now,
      absoluteTtlSeconds: ctx.config.session.absoluteTtlSeconds,
    },
    { ...meta, actorId: userId },
  );
  return { tokens: issue(ctx, recorded.state, started.state, refreshToken), userId, position: latest(recorded.position, started.position) };
}

/** The key failed password checks of an account are counted under (LoginThrottle). */
export const throttleKeyOf = (userId: string): string => `user:${userId}`;

/**
 * Checks a password under the account's lockout: refused while locked, booked as a failure before
 * the compare (so parallel guesses count against each other) and settled by its result, so
 * neither sign-in nor a re-entered current password can be guessed at speed.
 */
export async function checkPassword(ctx: CommandContext, throttleKey: string, password: string, hash: string | null): Promise<boolean> {
  const attempt = await ctx.loginThrottle.admit(throttleKey);
  const matches = await ctx.hasher.verify(password, hash);
  await (matches ? ctx.loginThrottle.succeeded(attempt) : ctx.loginThrottle.failed(attempt));
  return matches;
}

/**
 * Password login. An unknown user costs a bcrypt compare against a dummy hash and fails with
 * the same error as a wrong password, so neither the answer nor its timing tells them apart.
 * A locked account (too many failures, whatever the IP) is refused before any compare.
 */
export async function login(
  ctx: CommandContext,
  input: { identifier: LoginIdentifier; password: string; deviceId: string | null },
  meta: RequestMeta,
): Promise<SignedIn> {
  const id = input.identifier;
  const owner =
    'email' in id
      ? await ownerOf(ctx.store, 'email', normaliseEmail(id.email))
      : await ownerOf(ctx.store, 'username', normaliseUsername(id.username));
  const stream = owner ? await load(ctx.store, userStream(owner), userDecider) : null;
  const loaded = stream?.state ?? null;
  // A claimed but unconfirmed new email (a pending change) is not a sign-in name yet.
  const user = loaded && 'email' in id && loaded.email !== normaliseEmail(id.email) ? null : loaded;
  // Unknown names are throttled like accounts, so a lockout says nothing about existence.
  const account = owner
    ? throttleKeyOf(owner)
    : 'email' in id
      ? `email:${normaliseEmail(id.email)}`
      : `username:${normaliseUsername(id.username)}`;
  const passwordMatches = await checkPassword(ctx, account, input.password, user?.exists ? user.passwordHash : null);
  if (!owner || !user || !user.exists || !passwordMatches) fail('INVALID_CREDENTIALS', 'Invalid credentials');
  return startSession(ctx, owner as UserId, passwordMatches, input.deviceId ?? randomUUID(), meta, stream ?? undefined);
}

/** Registration with verification off signs the new user in at once (the TrackIt flow). */
export const signInAfterRegistration = (
  ctx: CommandContext,
  userId: UserId,
  deviceId: string | null,
  meta: RequestMeta,
): Promise<SignedIn> => startSession(ctx, userId, true, deviceId ?? randomUUID(), meta);

/**
 * Rotates a refresh token. Reads only the session's and the user's streams (the source of
 * truth): a session the user ended, a deactivated account, an expired or reused token all fail.
 */
export async function refresh(ctx: CommandContext, refreshToken: string, meta: RequestMeta): Promise<SignedIn> {
  const parsed = parseRefreshToken(refreshToken);
  if (!parsed) fail('SESSION_REVOKED', 'Invalid refresh token');
  const sid = parsed!.sessionId;
  // A session's user never changes: when this process knows the session, both streams' tails
  // come in one round trip; otherwise the session first, to learn whose it is.
  const owner = remembered(ctx.store, sessionStream(sid), sessionDecider)?.state.userId;
  const [session, loadedUser] = owner
    ? await loadBoth(ctx.store, [sessionStream(sid), sessionDecider], [userStream(owner), userDecider])
    : await loadSessionThenUser(ctx, sid);
  if (!session.state.exists) fail('SESSION_REVOKED', 'Invalid refresh token');
  const userId = session.state.userId as UserId;
  const user = loadedUser!.state;
  const userAllowsSession = user.exists && !user.deactivated && user.sessions.some((s) => s.id === sid);
  const newToken = newRefreshToken(sid);
  const result = await handle(
    ctx.store,
    sessionStream(sid),
    sessionDecider,
    {
      type: 'RefreshSession',
      presentedHash: sha256(refreshToken),
      newHash: sha256(newToken),
      now: ctx.clock().toISOString(),
      graceSeconds: ctx.config.session.refreshGraceSeconds,
      idleTtlSeconds: ctx.config.session.idleTtlSeconds,
      userAllowsSession,
    },
    { ...meta, actorId: userId },
    session,
  );
  const ended = endReasonOf(result.events);
  if (ended) {
    await ctx.revocations.revokeSessions([sid]);
    await handle(
      ctx.store,
      userStream(userId),
      userDecider,
      { type: 'EndSession', sessionId: sid as SessionId, reason: ended },
      { ...meta, actorId: userId },
    );
    throw new DomainError(
      'SESSION_REVOKED',
      ended === 'reuse-detected' ? 'Refresh token reuse detected; the session has been ended' : 'This session has ended',
    );
  }
  return { tokens: issue(ctx, user, result.state, newToken), userId, position: result.position };
}

async function loadSessionThenUser(ctx: CommandContext, sid: string): Promise<[Loaded<SessionState>, Loaded<UserState> | null]> {
  const session = await load(ctx.store, sessionStream(sid), sessionDecider);
  if (!session.state.exists) return [session, null];
  return [session, await load(ctx.store, userStream(session.state.userId as UserId), userDecider)];
}

/** Ends one session: in its stream, in the user's list, and for its access tokens at once. */
export async function endSession(
  ctx: CommandContext,
  userId: UserId,
  sid: string,
  reason: SessionEndReason,
  meta: RequestMeta,
): Promise<Position | null> {
  const s = await handle(
    ctx.store,
    sessionStream(sid),
    sessionDecider,
    { type: 'RevokeSession', reason, now: ctx.clock().toISOString() },
    meta,
  );
  await ctx.revocations.revokeSessions([sid]);
  const u = await handle(ctx.store, userStream(userId), userDecider, { type: 'EndSession', sessionId: sid as SessionId, reason }, meta);
  return latest(s.position, u.position);
}

/** Finds the session a refresh token belongs to, if the token is its current or a spent one. */
export async function sessionOfRefreshToken(ctx: CommandContext, refreshToken: string): Promise<SessionState | null> {
  const parsed = parseRefreshToken(refreshToken);
  if (!parsed) return null;
  const { state } = await load(ctx.store, sessionStream(parsed.sessionId), sessionDecider);
  const h = sha256(refreshToken);
  return state.exists && (state.currentHash === h || state.spent.has(h)) ? state : null;
}

export async function sessionOwner(ctx: CommandContext, sid: string): Promise<UserId | null> {
  const { state } = await load(ctx.store, sessionStream(sid), sessionDecider);
  return state.exists ? (state.userId as UserId) : null;
}

/** Ends every session of a user; access tokens die now, session streams follow via the job. */
export async function endAllSessions(
  ctx: CommandContext,
  userId: UserId,
  reason: SessionEndReason,
  meta: RequestMeta,
): Promise<Position | null> {
  const r = await handle(
    ctx.store,
    userStream(userId),
    userDecider,
    { type: 'EndAllSessions', reason, now: ctx.clock().toISOString() },
    meta,
  );
  await ctx.revocations.revokeSessions(r.events.flatMap((e) => (e.type === 'AllSessionsEnded' ? e.data.endedSessionIds : [])));
  return r.position;
}

/** A fresh pair for a session that stays (after a password change): old access tokens stop. */
export async function rotateSession(ctx: CommandContext, user: UserState, sid: string, meta: RequestMeta): Promise<SignedIn> {
  const newToken = newRefreshToken(sid);
  const r = await handle(
    ctx.store,
    sessionStream(sid),
    sessionDecider,
    { type: 'Rotate', newHash: sha256(newToken), now: ctx.clock().toISOString() },
    meta,
  );
  await ctx.revocations.requireVersion(sid, r.state.refreshCount);
  return { tokens: issue(ctx, user, r.state, newToken), userId: user.id as UserId, position: r.position };
}
