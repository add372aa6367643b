import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import { DomainError } from '../../errors';
import {
  endAllSessions,
  endSession,
  login,
  LoginIdentifier,
  refresh,
  sessionOfRefreshToken,
  sessionOwner,
  signInAfterRegistration,
  SignedIn,
} from '../../commands/session/sessions';
import { registerUser, resetPassword, verifyEmail } from '../../commands/user/account';
import { newOneTimeToken } from '../../commands/tokens';
import { normaliseEmail } from '../../events/claim';
import { UserId } from '../../events/user';
import { presentUser } from '../../projections/users';
import { liveSessions, presentSession } from '../../projections/sessions';
import { authenticate, requireSession } from '../auth';
import { perIp } from '../rate-limit';
import { emailOnlySchema, loginSchema, refreshSchema, registerSchema, resetPasswordSchema, tokenEmailSchema } from '../schemas';
import { AppState, caughtUp, Ctx, HttpServices } from '../types';
import { AccountJob } from '../../workers/queues';
import { bodyOf, validate } from '../validate';
import { tokensFor } from '../token-response';

const REGISTERED_MESSAGE = 'Registered. Please check your email to verify your account.';

const uuidParam = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const clearAuthCookies = (ctx: Ctx): void => {
  ctx.cookies.set('access_token', null, { path: '/' });
  ctx.cookies.set('refresh_token', null, { path: '/api/auth' });
};

/** The login response: tokens, also as httpOnly cookies, and the user as the read model has it. */
async function signedInBody(svc: HttpServices, ctx: Ctx, s: SignedIn) {
  // A sign-in or refresh touches the user's and the session's streams only.
  await caughtUp(svc, s.position, ['users', 'sessions']);
  const tokens = tokensFor(svc, ctx, s);
  const user = await svc.users.get(s.userId);
  return { ...tokens, user: user ? presentUser(user) : null };
}

const identifierOf = (b: { email?: string; username?: string; login?: string }): LoginIdentifier => {
  if (b.email) return { email: b.email };
  if (b.username) return { username: b.username };
  const l = b.login as string;
  return l.includes('@') ? { email: l } : { username: l };
};

export function authRouter(svc: HttpServices): Router<AppState> {
  const r = new Router<AppState>({ prefix: '/api/auth' });
  const auth = authenticate(svc);
  const limits = svc.limits;
  // One job per request, whatever the address: the worker looks it up (see AccountJob).
  const queueAccountJob = (job: AccountJob) => svc.queues.account.add(job.kind, job, { jobId: randomUUID() });

  // Per-address email limits stay silent: a 429 there would tell who has an account.
  r.post('/register', perIp(limits.registerPerIp), perIp(limits.emailPerIp), async (ctx) => {
    const b = validate(registerSchema, bodyOf(ctx));
    const email = normaliseEmail(b.email);
    const mayEmail = await limits.mayEmail(email);
    const result = await registerUser(
      svc.cmd,
      {
        email: b.email,
        password: b.password,
        username: b.username ?? null,
        firstName: b.firstName ?? null,
        lastName: b.lastName ?? null,
        name: b.name ?? null,
        profile: b.profile ?? null,
      },
      ctx.state.meta,
    );
    // The owner of a registered address is told off the request (past its email share, not at all).
    if (result.outcome === 'existing' && mayEmail) {
      await queueAccountJob({ kind: 'registration-attempt', userId: result.ownerId, email, at: svc.cmd.clock().toISOString(), meta: ctx.state.meta });
    }
    if (!svc.config.requireEmailVerification) {
      if (result.outcome === 'existing') throw new DomainError('CONFLICT', 'An account with this email already exists', [{ path: 'email', message: 'email is already registered' }]);
      const signedIn = await signInAfterRegistration(svc.cmd, result.userId, b.deviceId ?? null, ctx.state.meta);
      ctx.status = 201;
      ctx.body = { message: 'Registered and signed in.', ...(await signedInBody(svc, ctx, signedIn)) };
      return;
    }
    // No wait for the projections, on either path: waiting only when an account was created is
    // what told a new address from a registered one. Nothing the client can do next reads them
    // (verification and sign-in read the streams; sign-in waits for its own write, which follows this one).
    ctx.status = 201;
    ctx.body = { message: REGISTERED_MESSAGE };
  });

  const verify = async (ctx: Ctx, input: unknown) => {
    const b = validate(tokenEmailSchema, input);
    await caughtUp(svc, await verifyEmail(svc.cmd, b, ctx.state.meta));
    ctx.body = { message: 'Email verified. You can now sign in.' };
  };
  r.get('/verify-email', (ctx) => verify(ctx, ctx.query));
  r.post('/verify-email', (ctx) => verify(ctx, bodyOf(ctx)));

  r.post('/resend-verification', perIp(limits.emailPerIp), async (ctx) => {
    const b = validate(emailOnlySchema, bodyOf(ctx));
    const email = normaliseEmail(b.email);
    if (await limits.mayEmail(email)) {
      const token = newOneTimeToken(svc.config.tokenSecret, 'verify-email', svc.config.verificationTtlSeconds, svc.cmd.clock());
      await queueAccountJob({ kind: 'resend-verification', email, token, meta: ctx.state.meta });
    }
    ctx.status = 202;
    ctx.body = { message: 'If that address has an unverified account, a new link is on its way.' };
  });

  r.post('/login', perIp(limits.loginPerIp), async (ctx) => {
    const b = validate(loginSchema, bodyOf(ctx));
    const s = await login(svc.cmd, { identifier: identifierOf(b), password: b.password, deviceId: b.deviceId ?? null }, ctx.state.meta);
    ctx.body = await signedInBody(svc, ctx, s);
  });

  const refreshRoute = async (ctx: Ctx) => {
    const b = validate(refreshSchema, bodyOf(ctx));
    const token = b.refreshToken ?? ctx.cookies.get('refresh_token');
    if (!token) throw new DomainError('VALIDATION_FAILED', 'refreshToken is required', [{ path: 'refreshToken', message: 'refreshToken is required (body or cookie)' }]);
    const s = await refresh(svc.cmd, token, ctx.state.meta);
    ctx.body = await signedInBody(svc, ctx, s);
  };
  r.post('/token', perIp(limits.refreshPerIp), refreshRoute);
  r.post('/refresh', perIp(limits.refreshPerIp), refreshRoute);

  r.post('/logout', async (ctx) => {
    const b = validate(refreshSchema, bodyOf(ctx));
    const token = b.refreshToken ?? ctx.cookies.get('refresh_token');
    if (token) {
      const session = await sessionOfRefreshToken(svc.cmd, token);
      if (!session) throw new DomainError('SESSION_REVOKED', 'Invalid refresh token');
      await caughtUp(svc, await endSession(svc.cmd, session.userId as UserId, session.sessionId as string, 'logout', { ...ctx.state.meta, actorId: session.userId }));
      clearAuthCookies(ctx);
      ctx.body = { message: 'Logged out' };
      return;
    }
    await auth(ctx, async () => {
      const a = requireSession(ctx);
      await caughtUp(svc, await endSession(svc.cmd, a.sub as UserId, a.sid, 'logout', ctx.state.meta));
      clearAuthCookies(ctx);
      ctx.body = { message: 'Logged out' };
    });
  });

  r.post('/logout-all', auth, async (ctx) => {
    const a = requireSession(ctx);
    await caughtUp(svc, await endAllSessions(svc.cmd, a.sub as UserId, 'logout-all', ctx.state.meta));
    clearAuthCookies(ctx);
    ctx.body = { message: 'Logged out from all devices' };
  });

  r.get('/sessions', auth, async (ctx) => {
    const a = requireSession(ctx);
    const rows = await liveSessions(svc.knex, a.sub);
    ctx.body = { data: rows.map((s) => presentSession(s, a.sid)) };
  });

  r.delete('/sessions/:id', auth, async (ctx) => {
    const a = requireSession(ctx);
    const id = ctx.params.id;
    if (!uuidParam.test(id) || (await sessionOwner(svc.cmd, id)) !== a.sub) throw new DomainError('NOT_FOUND', 'Session not found');
    await caughtUp(svc, await endSession(svc.cmd, a.sub as UserId, id, 'revoked', ctx.state.meta));
    ctx.status = 204;
  });

  r.get('/me', auth, async (ctx) => {
    const a = requireSession(ctx);
    const user = await svc.users.get(a.sub);
    if (!user || user.is_deleted) throw new DomainError('UNAUTHENTICATED', 'Authentication required');
    ctx.body = { user: presentUser(user), session: { id: a.sid, expiresAt: new Date(a.exp * 1000).toISOString() } };
  });

  r.post('/forgot-password', perIp(limits.emailPerIp), async (ctx) => {
    const b = validate(emailOnlySchema, bodyOf(ctx));
    const email = normaliseEmail(b.email);
    if (await limits.mayEmail(email)) {
      const token = newOneTimeToken(svc.config.tokenSecret, 'reset-password', svc.config.resetTtlSeconds, svc.cmd.clock());
      await queueAccountJob({ kind: 'reset-password', email, token, meta: ctx.state.meta });
    }
    ctx.status = 202;
    ctx.body = { message: 'If that email has an account, a reset link is on its way.' };
  });

  r.post('/reset-password', async (ctx) => {
    const b = validate(resetPasswordSchema, bodyOf(ctx));
    await caughtUp(svc, await resetPassword(svc.cmd, b, ctx.state.meta));
    ctx.body = { message: 'Password reset. Sign in with your new password.' };
  });

  return r;
}
