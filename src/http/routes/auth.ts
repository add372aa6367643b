import { randomUUID } from 'node:crypto';
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
import { ApiRouter } from '../api-router';
import { authenticate, requireSession } from '../auth';
import { noStoreHeaders } from '../openapi/operation';
import { perIp } from '../rate-limit';
import { emailOnlySchema, loginSchema, refreshSchema, registerSchema, resetPasswordSchema, tokenEmailSchema } from '../schemas';
import { caughtUp, Ctx, HttpServices } from '../types';
import { AccountJob } from '../../workers/queues';
import { bodyOf, validate } from '../validate';
import { tokensFor } from '../token-response';

const REGISTERED_MESSAGE = 'Registered. Please check your email to verify your account.';

/** The document's example credentials. */
const EXAMPLE_EMAIL = 'ada@example.com';
const EXAMPLE_PASSWORD = 'correct horse battery staple';

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

export function authRouter(svc: HttpServices): ApiRouter {
  const r = new ApiRouter({ prefix: '/api/auth', tag: 'Auth' });
  const auth = authenticate(svc);
  const limits = svc.limits;
  // One job per request, whatever the address: the worker looks it up (see AccountJob).
  const queueAccountJob = (job: AccountJob) => svc.queues.account.add(job.kind, job, { jobId: randomUUID() });

  // Per-address email limits stay silent: a 429 there would tell who has an account.
  r.post(
    '/register',
    {
      operationId: 'register',
      summary: 'Sign up',
      description:
        'With REQUIRE_EMAIL_VERIFICATION (the default) the answer is the same whether or not the email was already registered (its owner gets an email instead), and a verification link is emailed. With REQUIRE_EMAIL_VERIFICATION=false it signs in at once, and a taken email is a 409.',
      auth: 'public',
      body: {
        schema: registerSchema,
        example: { email: EXAMPLE_EMAIL, password: EXAMPLE_PASSWORD, firstName: 'Ada', lastName: 'Lovelace' },
      },
      ok: {
        status: 201,
        description: 'Registered (and, without email verification, signed in: then with Cache-Control: no-store)',
        schema: 'RegisterResponse',
        headers: noStoreHeaders(false),
      },
      errors: { 409: 'The username is taken (or, without email verification, the email)' },
      rateLimited: true,
    },
    perIp(limits.registerPerIp),
    perIp(limits.emailPerIp),
    async (ctx) => {
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
        await queueAccountJob({
          kind: 'registration-attempt',
          userId: result.ownerId,
          email,
          at: svc.cmd.clock().toISOString(),
          meta: ctx.state.meta,
        });
      }
      if (!svc.config.requireEmailVerification) {
        if (result.outcome === 'existing')
          throw new DomainError('CONFLICT', 'An account with this email already exists', [
            { path: 'email', message: 'email is already registered' },
          ]);
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
    },
  );

  const verify = async (ctx: Ctx, input: unknown) => {
    const b = validate(tokenEmailSchema, input);
    await caughtUp(svc, await verifyEmail(svc.cmd, b, ctx.state.meta));
    ctx.body = { message: 'Email verified. You can now sign in.' };
  };
  const emailTaken = 'A change of email confirmed for an address that another account took since it was asked for (CONFLICT)';
  r.get(
    '/verify-email',
    {
      operationId: 'verifyEmailByLink',
      summary: 'Verify an email address (the emailed link)',
      auth: 'public',
      query: tokenEmailSchema,
      ok: { status: 200, description: 'Verified', schema: 'Message' },
      errors: { 400: 'The link is invalid, spent or expired (INVALID_TOKEN)', 409: emailTaken },
    },
    (ctx) => verify(ctx, ctx.query),
  );
  r.post(
    '/verify-email',
    {
      operationId: 'verifyEmail',
      summary: 'Verify an email address',
      auth: 'public',
      body: { schema: tokenEmailSchema },
      ok: { status: 200, description: 'Verified', schema: 'Message' },
      errors: { 400: 'The token is invalid, spent or expired (INVALID_TOKEN)', 409: emailTaken },
    },
    (ctx) => verify(ctx, bodyOf(ctx)),
  );

  r.post(
    '/resend-verification',
    {
      operationId: 'resendVerification',
      summary: 'Send a new verification link',
      description: 'The same answer for any address.',
      auth: 'public',
      body: { schema: emailOnlySchema, example: { email: EXAMPLE_EMAIL } },
      ok: { status: 202, description: 'Accepted', schema: 'Message' },
      rateLimited: true,
    },
    perIp(limits.emailPerIp),
    async (ctx) => {
      const b = validate(emailOnlySchema, bodyOf(ctx));
      const email = normaliseEmail(b.email);
      if (await limits.mayEmail(email)) {
        const token = newOneTimeToken(svc.config.tokenSecret, 'verify-email', svc.config.verificationTtlSeconds, svc.cmd.clock());
        await queueAccountJob({ kind: 'resend-verification', email, token, meta: ctx.state.meta });
      }
      ctx.status = 202;
      ctx.body = { message: 'If that address has an unverified account, a new link is on its way.' };
    },
  );

  r.post(
    '/login',
    {
      operationId: 'login',
      summary: 'Sign in',
      description:
        'Send one of `email`, `username` or `login` (either), and the password. The tokens are also set as httpOnly cookies. A wrong password and an unknown account get the same answer.',
      auth: 'public',
      body: { schema: loginSchema, example: { email: EXAMPLE_EMAIL, password: EXAMPLE_PASSWORD } },
      ok: { status: 200, description: 'Signed in', schema: 'LoginResponse', headers: noStoreHeaders() },
      errors: {
        401: 'Wrong or unknown credentials (INVALID_CREDENTIALS)',
        403: 'The email is not verified yet (EMAIL_NOT_VERIFIED), or the account is deactivated',
      },
      rateLimited: true,
      lockout: true,
    },
    perIp(limits.loginPerIp),
    async (ctx) => {
      const b = validate(loginSchema, bodyOf(ctx));
      const s = await login(svc.cmd, { identifier: identifierOf(b), password: b.password, deviceId: b.deviceId ?? null }, ctx.state.meta);
      ctx.body = await signedInBody(svc, ctx, s);
    },
  );

  const refreshRoute = async (ctx: Ctx) => {
    const b = validate(refreshSchema, bodyOf(ctx));
    const token = b.refreshToken ?? ctx.cookies.get('refresh_token');
    if (!token)
      throw new DomainError('VALIDATION_FAILED', 'refreshToken is required', [
        { path: 'refreshToken', message: 'refreshToken is required (body or cookie)' },
      ]);
    const s = await refresh(svc.cmd, token, ctx.state.meta);
    ctx.body = await signedInBody(svc, ctx, s);
  };
  for (const name of ['token', 'refresh'] as const) {
    r.post(
      `/${name}`,
      {
        operationId: name === 'token' ? 'refreshTokens' : 'refreshTokensAlias',
        summary: name === 'token' ? 'Refresh: a new token pair for a refresh token' : 'Refresh (alias of POST /api/auth/token)',
        description:
          'The refresh token comes from the body or the `refresh_token` cookie. It is spent: presented again, it ends the whole session (reuse detection), unless it is the predecessor of the current token and comes back within REFRESH_GRACE_SECONDS (two tabs racing): that one is refused with REFRESH_TOKEN_ROTATED and the session lives on.',
        auth: 'refresh-token',
        body: { schema: refreshSchema, required: false },
        ok: { status: 200, description: 'A new pair; the old refresh token is spent', schema: 'LoginResponse', headers: noStoreHeaders() },
        errors: {
          401: 'The refresh token is invalid, spent or its session ended (SESSION_REVOKED, REFRESH_TOKEN_ROTATED)',
          422: 'No refresh token in the body or the cookie',
        },
        rateLimited: true,
      },
      perIp(limits.refreshPerIp),
      refreshRoute,
    );
  }

  r.post(
    '/logout',
    {
      operationId: 'logout',
      summary: 'Sign out of one session',
      description:
        "Ends the session of the given refresh token (body or cookie), or else the calling session; that session's tokens stop working at once.",
      auth: 'logout',
      body: { schema: refreshSchema, required: false },
      ok: { status: 200, description: 'Signed out', schema: 'Message' },
      errors: { 401: 'The refresh token is invalid, or no session is signed in' },
    },
    async (ctx) => {
      const b = validate(refreshSchema, bodyOf(ctx));
      const token = b.refreshToken ?? ctx.cookies.get('refresh_token');
      if (token) {
        const session = await sessionOfRefreshToken(svc.cmd, token);
        if (!session) throw new DomainError('SESSION_REVOKED', 'Invalid refresh token');
        await caughtUp(
          svc,
          await endSession(svc.cmd, session.userId as UserId, session.sessionId as string, 'logout', {
            ...ctx.state.meta,
            actorId: session.userId,
          }),
        );
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
    },
  );

  r.post(
    '/logout-all',
    {
      operationId: 'logoutAll',
      summary: 'Sign out of every session',
      auth: 'session',
      ok: { status: 200, description: 'Every session ended', schema: 'Message' },
    },
    auth,
    async (ctx) => {
      const a = requireSession(ctx);
      await caughtUp(svc, await endAllSessions(svc.cmd, a.sub as UserId, 'logout-all', ctx.state.meta));
      clearAuthCookies(ctx);
      ctx.body = { message: 'Logged out from all devices' };
    },
  );

  r.get(
    '/sessions',
    {
      operationId: 'listMySessions',
      summary: "The caller's live sessions",
      auth: 'session',
      ok: { status: 200, description: 'Live sessions, newest first', schema: 'SessionList' },
    },
    auth,
    async (ctx) => {
      const a = requireSession(ctx);
      const rows = await liveSessions(svc.knex, a.sub);
      ctx.body = { data: rows.map((s) => presentSession(s, a.sid)) };
    },
  );

  r.delete(
    '/sessions/:id',
    {
      operationId: 'endMySession',
      summary: 'End one of the caller’s sessions',
      auth: 'session',
      ok: { status: 204, description: 'Ended' },
      errors: { 404: "No such session of the caller's" },
    },
    auth,
    async (ctx) => {
      const a = requireSession(ctx);
      const id = ctx.params.id;
      if (!uuidParam.test(id) || (await sessionOwner(svc.cmd, id)) !== a.sub) throw new DomainError('NOT_FOUND', 'Session not found');
      await caughtUp(svc, await endSession(svc.cmd, a.sub as UserId, id, 'revoked', ctx.state.meta));
      ctx.status = 204;
    },
  );

  r.get(
    '/me',
    {
      operationId: 'me',
      summary: 'The caller and their session (a session check)',
      auth: 'session',
      ok: { status: 200, description: 'The user and session', schema: 'Me' },
    },
    auth,
    async (ctx) => {
      const a = requireSession(ctx);
      const user = await svc.users.get(a.sub);
      if (!user || user.is_deleted) throw new DomainError('UNAUTHENTICATED', 'Authentication required');
      ctx.body = { user: presentUser(user), session: { id: a.sid, expiresAt: new Date(a.exp * 1000).toISOString() } };
    },
  );

  r.post(
    '/forgot-password',
    {
      operationId: 'forgotPassword',
      summary: 'Email a password reset link',
      description: 'The same answer for any address.',
      auth: 'public',
      body: { schema: emailOnlySchema, example: { email: EXAMPLE_EMAIL } },
      ok: { status: 202, description: 'Accepted', schema: 'Message' },
      rateLimited: true,
    },
    perIp(limits.emailPerIp),
    async (ctx) => {
      const b = validate(emailOnlySchema, bodyOf(ctx));
      const email = normaliseEmail(b.email);
      if (await limits.mayEmail(email)) {
        const token = newOneTimeToken(svc.config.tokenSecret, 'reset-password', svc.config.resetTtlSeconds, svc.cmd.clock());
        await queueAccountJob({ kind: 'reset-password', email, token, meta: ctx.state.meta });
      }
      ctx.status = 202;
      ctx.body = { message: 'If that email has an account, a reset link is on its way.' };
    },
  );

  r.post(
    '/reset-password',
    {
      operationId: 'resetPassword',
      summary: 'Set a new password with a reset token',
      description: 'Every session of the user ends.',
      auth: 'public',
      body: { schema: resetPasswordSchema },
      ok: { status: 200, description: 'Password reset', schema: 'Message' },
      errors: { 400: 'The token is invalid, spent or expired (INVALID_TOKEN)', 409: emailTaken },
    },
    async (ctx) => {
      const b = validate(resetPasswordSchema, bodyOf(ctx));
      await caughtUp(svc, await resetPassword(svc.cmd, b, ctx.state.meta));
      ctx.body = { message: 'Password reset. Sign in with your new password.' };
    },
  );

  return r;
}
