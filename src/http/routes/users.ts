import * as yup from 'yup';
import { DomainError } from '../../errors';
import { endAllSessions } from '../../commands/session/sessions';
import { changeRole, deactivateUser, restoreUser } from '../../commands/user/admin';
import { Role, ROLES, UserId } from '../../events/user';
import { liveSessions, presentSession } from '../../projections/sessions';
import { permissionsOfUser } from '../../projections/permissions';
import { setUserPermissions } from '../../commands/permission/grants';
import { countUsers, findUserById, presentUser, UserRow } from '../../projections/users';
import { ApiRouter } from '../api-router';
import { authenticate, requireRole } from '../auth';
import { listQuerySchema, paginate, paginateSearch, parseList } from '../list';
import { caughtUp, Ctx, HttpServices } from '../types';
import { bodyOf, validate } from '../validate';
import { HISTORY_QUERY, historyPage } from './profile';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An id from the path, checked before it reaches SQL: anything but a UUID is simply not found. */
export const idParam = (ctx: Ctx, what = 'User'): string => {
  const id = ctx.params.id;
  if (!id || !UUID.test(id)) throw new DomainError('NOT_FOUND', `${what} not found`);
  return id.toLowerCase();
};

const roleSchema = yup.object({
  role: yup
    .string()
    .trim()
    .lowercase()
    .max(32)
    .oneOf([...ROLES], `role must be one of: ${ROLES.join(', ')}`)
    .required(),
});

const listFilters = yup.object({
  q: yup.string().trim().max(100).optional(),
  role: yup
    .string()
    .trim()
    .lowercase()
    .max(32)
    .oneOf([...ROLES], `role must be one of: ${ROLES.join(', ')}`)
    .optional(),
  emailVerified: yup.boolean().optional(),
  includeDeleted: yup.boolean().optional(),
});

const grantsSchema = yup.object({
  permissionIds: yup.array(yup.string().max(36).matches(UUID, '${path} must be a UUID').required()).max(1000).required(),
});

const SORTS = { createdAt: 'created_at', email: 'email', lastName: 'last_name', lastLoginAt: 'last_login_at' };

/** Escapes LIKE wildcards so `q` matches literally. */
export const likePattern = (q: string): string => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export function usersRouter(svc: HttpServices): ApiRouter {
  const r = new ApiRouter({ prefix: '/api/users', tag: 'Users', auth: 'session', roles: ['admin'] });
  r.use(authenticate(svc), requireRole('admin'));

  const existing = async (ctx: Ctx): Promise<UserRow> => {
    const user = await findUserById(svc.knex, idParam(ctx));
    if (!user) throw new DomainError('NOT_FOUND', 'User not found');
    return user;
  };

  /** The user after a write the route waited for; gone only if the read model is being rebuilt. */
  const reread = async (id: string): Promise<UserRow> => {
    const u = await findUserById(svc.knex, id);
    if (!u) throw new DomainError('UNAVAILABLE', 'The user list is catching up; try again in a moment');
    return u;
  };

  r.get(
    '/',
    {
      operationId: 'listUsers',
      summary: 'List users',
      query: listQuerySchema(SORTS, listFilters),
      ok: { status: 200, description: 'A page of users', schema: 'UserPage' },
    },
    async (ctx) => {
      const q = parseList(ctx.query, SORTS, '-createdAt', listFilters);
      const f = q.filters;
      const base = svc.knex<UserRow>('users').select('*');
      if (!f.includeDeleted) base.where('is_deleted', false);
      if (f.role) base.where('role', f.role);
      if (f.emailVerified !== undefined) base.where('email_verified', f.emailVerified);
      if (f.q) {
        base.where('search', 'like', likePattern(f.q.toLowerCase()));
      }
      // Without a text search the total comes from the kept counts, not a scan of the table.
      ctx.body = f.q
        ? await paginateSearch<UserRow, ReturnType<typeof presentUser>>(svc.knex, base, q, presentUser)
        : await paginate<UserRow, ReturnType<typeof presentUser>>(base, q, presentUser, () =>
            svc.users.count(`${f.role ?? '*'}|${f.emailVerified ?? '*'}|${f.includeDeleted ? 'all' : 'live'}`, () =>
              countUsers(svc.knex, f),
            ),
          );
    },
  );

  r.get(
    '/:id',
    {
      operationId: 'getUser',
      summary: 'One user',
      ok: { status: 200, description: 'The user', schema: 'User' },
      errors: { 404: 'No such user' },
    },
    async (ctx) => {
      ctx.body = presentUser(await existing(ctx));
    },
  );

  r.put(
    '/:id/role',
    {
      operationId: 'changeUserRole',
      summary: 'Change a user’s role',
      description: 'Roles are case-insensitive. The user’s sessions end, and tokens issued before lose the old role at once.',
      body: { schema: roleSchema, example: { role: 'editor' } },
      ok: { status: 200, description: 'The user', schema: 'User' },
      errors: { 404: 'No such user', 409: 'Not on your own account' },
    },
    async (ctx) => {
      const { role } = validate(roleSchema, bodyOf(ctx));
      const user = await existing(ctx);
      await caughtUp(svc, await changeRole(svc.cmd, user.id as UserId, role as Role, ctx.state.meta));
      ctx.body = presentUser(await reread(user.id));
    },
  );

  r.delete(
    '/:id',
    {
      operationId: 'deactivateUser',
      summary: 'Deactivate a user (soft delete)',
      ok: { status: 200, description: 'Deactivated; their sessions ended', schema: 'Message' },
      errors: { 404: 'No such user', 409: 'Not on your own account, or already deactivated' },
    },
    async (ctx) => {
      const user = await existing(ctx);
      await caughtUp(svc, await deactivateUser(svc.cmd, user.id as UserId, ctx.state.meta));
      ctx.body = { message: 'User deactivated (soft deleted)' };
    },
  );

  r.put(
    '/:id/restore',
    {
      operationId: 'restoreUser',
      summary: 'Restore a deactivated user',
      ok: { status: 200, description: 'Restored', schema: 'UserRestored' },
      errors: { 404: 'No such user', 409: 'Not on your own account, or not deactivated' },
    },
    async (ctx) => {
      const user = await existing(ctx);
      await caughtUp(svc, await restoreUser(svc.cmd, user.id as UserId, ctx.state.meta));
      ctx.body = { message: 'User restored', user: presentUser(await reread(user.id)) };
    },
  );

  r.get(
    '/:id/history',
    {
      operationId: 'userHistory',
      summary: 'The audit trail of a user',
      query: HISTORY_QUERY,
      ok: { status: 200, description: 'A page of changes', schema: 'HistoryPage' },
      errors: { 404: 'No such user' },
    },
    async (ctx) => {
      const user = await existing(ctx);
      ctx.body = await historyPage(svc, user.id, ctx.query);
    },
  );

  r.get(
    '/:id/sessions',
    {
      operationId: 'userSessions',
      summary: 'A user’s live sessions',
      ok: { status: 200, description: 'Live sessions', schema: 'SessionList' },
      errors: { 404: 'No such user' },
    },
    async (ctx) => {
      const user = await existing(ctx);
      ctx.body = { data: (await liveSessions(svc.knex, user.id)).map((s) => presentSession(s, null)) };
    },
  );

  r.delete(
    '/:id/sessions',
    {
      operationId: 'endUserSessions',
      summary: 'End every session of a user',
      ok: { status: 204, description: 'Ended' },
      errors: { 404: 'No such user' },
    },
    async (ctx) => {
      const user = await existing(ctx);
      await caughtUp(svc, await endAllSessions(svc.cmd, user.id as UserId, 'revoked', ctx.state.meta));
      ctx.status = 204;
    },
  );

  r.get(
    '/:id/permissions',
    {
      operationId: 'userPermissions',
      summary: 'The permissions granted to a user',
      ok: { status: 200, description: 'The granted permissions', schema: 'GrantedPermissionList' },
      errors: { 404: 'No such user' },
    },
    async (ctx) => {
      const user = await existing(ctx);
      ctx.body = { data: await permissionsOfUser(svc.knex, user.id) };
    },
  );

  r.put(
    '/:id/permissions',
    {
      operationId: 'setUserPermissions',
      summary: 'Set the permissions granted to a user',
      description: 'Replaces the whole set; every id must be an existing permission.',
      body: { schema: grantsSchema, example: { permissionIds: [] } },
      ok: { status: 200, description: 'The granted permissions', schema: 'GrantedPermissionList' },
      errors: { 404: 'No such user' },
    },
    async (ctx) => {
      const { permissionIds } = validate(grantsSchema, bodyOf(ctx));
      const user = await existing(ctx);
      await caughtUp(svc, await setUserPermissions(svc.cmd, user.id, permissionIds, ctx.state.meta));
      ctx.body = { data: await permissionsOfUser(svc.knex, user.id) };
    },
  );

  return r;
}
