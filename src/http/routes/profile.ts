import * as yup from 'yup';
import { DomainError } from '../../errors';
import { changePassword, deactivateSelf, updateProfile } from '../../commands/user/account';
import { UserId } from '../../events/user';
import { HistoryRow } from '../../projections/profile-history';
import { presentUser } from '../../projections/users';
import { ApiRouter } from '../api-router';
import { authenticate, requirePrincipal, requireSession } from '../auth';
import { listQuerySchema, paginate, parseList } from '../list';
import { noStoreHeaders } from '../openapi/operation';
import { changePasswordSchema, deactivateSchema, profileUpdateSchema } from '../schemas';
import { caughtUp, Ctx, HttpServices } from '../types';
import { bodyOf, validate } from '../validate';
import { tokensFor } from '../token-response';

/** Fields a user may not set on themselves; sending one is a 422, not a silent no-op. */
const PROTECTED = [
  'role',
  'emailVerified',
  'isDeleted',
  'id',
  'password',
  'createdAt',
  'updatedAt',
  'createdBy',
  'updatedBy',
  'lastLoginAt',
];

type HistoryWithActor = HistoryRow & { actor_email: string | null };

export const presentHistory = (h: HistoryWithActor) => ({
  eventId: h.event_id,
  type: h.type,
  field: h.field,
  oldValue: h.field === 'password' ? undefined : h.old_value,
  newValue: h.field === 'password' ? undefined : h.new_value,
  actor: { id: h.actor_id, email: h.actor_email },
  at: h.at,
});

const HISTORY_SORTS = { at: 'h.at', field: 'h.field' };
const historyFilters = yup.object({ field: yup.string().max(64).optional() });
/** The query of a history page, as the document shows it (the users router's history takes the same). */
export const HISTORY_QUERY = listQuerySchema(HISTORY_SORTS, historyFilters);

/** The audit trail of one user, newest first by default. */
export const historyPage = (svc: HttpServices, userId: string, query: unknown) => {
  const q = parseList(query, HISTORY_SORTS, '-at', historyFilters, 'h.event_id');
  const base = svc
    .knex('profile_history as h')
    .leftJoin('users as a', 'a.id', 'h.actor_id')
    .where('h.user_id', userId)
    .select('h.*', 'a.email as actor_email');
  if (q.filters.field) base.andWhere('h.field', q.filters.field);
  return paginate<HistoryWithActor, ReturnType<typeof presentHistory>>(base, q, presentHistory);
};

export function profileRouter(svc: HttpServices): ApiRouter {
  const r = new ApiRouter({ prefix: '/api/profile', tag: 'Profile', auth: 'session' });
  // A key may read its owner's account; every change to it needs the owner's session.
  r.use(authenticate(svc, { apiKeys: 'read' }));

  const current = async (ctx: Ctx) => {
    const user = await svc.users.get(requirePrincipal(ctx).sub);
    if (!user || user.is_deleted) throw new DomainError('UNAUTHENTICATED', 'Authentication required');
    return user;
  };

  r.get(
    '/',
    {
      operationId: 'getProfile',
      summary: 'The caller',
      description: 'With an API key: the key’s owner. Every change to the account needs the owner’s session.',
      auth: 'session-or-key',
      ok: { status: 200, description: 'The user', schema: 'User' },
    },
    async (ctx) => {
      ctx.body = presentUser(await current(ctx));
    },
  );

  const update = async (ctx: Ctx) => {
    const raw = bodyOf(ctx);
    const forbidden = raw && typeof raw === 'object' ? PROTECTED.filter((k) => Object.prototype.hasOwnProperty.call(raw, k)) : [];
    if (forbidden.length) {
      throw new DomainError(
        'VALIDATION_FAILED',
        'Some fields cannot be changed here',
        forbidden.map((path) => ({ path, message: `${path} is not writable through the profile` })),
      );
    }
    const b = validate(profileUpdateSchema, raw);
    if (b.email !== undefined && !b.currentPassword) {
      throw new DomainError('VALIDATION_FAILED', 'currentPassword is required to change the email', [
        { path: 'currentPassword', message: 'currentPassword is required when email changes' },
      ]);
    }
    const a = requireSession(ctx);
    const position = await updateProfile(
      svc.cmd,
      a.sub as UserId,
      {
        name: b.name,
        firstName: b.firstName,
        lastName: b.lastName,
        username: b.username,
        profile: b.profile,
        email: b.email,
        currentPassword: b.currentPassword,
      },
      ctx.state.meta,
    );
    await caughtUp(svc, position);
    const user = await current(ctx);
    ctx.body = {
      message: user.pending_email ? 'Profile updated. Confirm the new email from the link sent to it.' : 'Profile updated',
      user: presentUser(user),
    };
  };
  for (const method of ['put', 'patch'] as const) {
    r[method](
      '/',
      {
        operationId: method === 'put' ? 'updateProfile' : 'patchProfile',
        summary: method === 'put' ? 'Update the caller’s profile' : 'Update the caller’s profile (same as PUT)',
        description:
          'Only the fields sent change, all or none. A new `email` needs `currentPassword` and stays pending until confirmed from the link sent to it; it is claimed only then, and the answer is the same whether or not another account has it (its owner gets a notice instead of a link). `role`, `emailVerified` and the like are not writable here (422).',
        body: { schema: profileUpdateSchema, example: { firstName: 'Ada', lastName: 'Lovelace' } },
        ok: { status: 200, description: 'Updated', schema: 'ProfileUpdated' },
        errors: {
          400: 'The current password is wrong, or was replaced by a password change while this request ran (WRONG_PASSWORD)',
          409: 'The username is taken',
        },
        lockout: true,
      },
      update,
    );
  }

  r.put(
    '/password',
    {
      operationId: 'changePassword',
      summary: 'Change the password',
      description: 'Answers a fresh token pair for this device (also as cookies); every other session ends and a notification is emailed.',
      body: { schema: changePasswordSchema },
      ok: { status: 200, description: 'Changed', schema: 'PasswordChanged', headers: noStoreHeaders() },
      errors: {
        400: 'The current password is wrong, or was replaced by a password change while this request ran: of parallel changes with one password, one wins (WRONG_PASSWORD)',
      },
      lockout: true,
    },
    async (ctx) => {
      const b = validate(changePasswordSchema, bodyOf(ctx));
      const a = requireSession(ctx);
      const s = await changePassword(
        svc.cmd,
        { userId: a.sub as UserId, sessionId: a.sid, currentPassword: b.currentPassword, newPassword: b.newPassword },
        ctx.state.meta,
      );
      await caughtUp(svc, s.position);
      ctx.body = { message: 'Password updated. Other sessions were signed out.', ...tokensFor(svc, ctx, s) };
    },
  );

  r.delete(
    '/',
    {
      operationId: 'deactivateProfile',
      summary: 'Deactivate the caller’s account',
      description: 'A soft delete: every session ends and an email is sent.',
      body: { schema: deactivateSchema },
      ok: { status: 200, description: 'Deactivated', schema: 'Message' },
      errors: { 400: 'The current password is wrong, or was replaced by a password change while this request ran (WRONG_PASSWORD)' },
      lockout: true,
    },
    async (ctx) => {
      const b = validate(deactivateSchema, bodyOf(ctx));
      const a = requireSession(ctx);
      await caughtUp(svc, await deactivateSelf(svc.cmd, a.sub as UserId, b.currentPassword, ctx.state.meta));
      ctx.cookies.set('access_token', null, { path: '/' });
      ctx.cookies.set('refresh_token', null, { path: '/api/auth' });
      ctx.body = { message: 'Account deactivated' };
    },
  );

  r.get(
    '/history',
    {
      operationId: 'profileHistory',
      summary: 'The audit trail of the caller',
      description: 'Newest first by default. Password changes appear without values. With an API key: the trail of the key’s owner.',
      auth: 'session-or-key',
      query: HISTORY_QUERY,
      ok: { status: 200, description: 'A page of changes', schema: 'HistoryPage' },
    },
    async (ctx) => {
      ctx.body = await historyPage(svc, requirePrincipal(ctx).sub, ctx.query);
    },
  );

  return r;
}
