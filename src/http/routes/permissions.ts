import * as yup from 'yup';
import { DomainError, FieldError } from '../../errors';
import {
  MAX_SERVICES_PER_PERMISSION,
  PERMISSION_NAME_MAX,
  PERMISSION_NAME_MIN,
  PERMISSION_NAME_PATTERN,
  serviceIdsErrors,
} from '../../commands/permission/decider';
import { createPermission, deletePermission, unknownServices, updatePermission } from '../../commands/permission/permissions';
import { ServiceId } from '../../events/service';
import { findPermissionById, PermissionRow, presentPermissions } from '../../projections/permissions';
import { ApiRouter } from '../api-router';
import { authenticate, requireRole } from '../auth';
import { listQuerySchema, paginate, parseList } from '../list';
import { caughtUp, HttpServices } from '../types';
import { bodyOf, validate } from '../validate';
import { containsPattern, listParamNames, onlyParams, readBack, text, UUID_PATTERN, uuidParam } from './services';

const uuid = () =>
  yup
    .string()
    .transform((v: unknown) => (typeof v === 'string' ? v.trim().toLowerCase() : v))
    .matches(UUID_PATTERN, { message: '${path} must be a UUID' });

const permissionName = () =>
  text()
    .min(PERMISSION_NAME_MIN, `\${path} must be ${PERMISSION_NAME_MIN} to ${PERMISSION_NAME_MAX} characters`)
    .max(PERMISSION_NAME_MAX, `\${path} must be ${PERMISSION_NAME_MIN} to ${PERMISSION_NAME_MAX} characters`)
    .matches(PERMISSION_NAME_PATTERN, { message: '${path} must start with a letter and contain only letters, digits and : . _ -' });

const serviceIds = () =>
  yup
    .array()
    .of(uuid().required('${path} must be a UUID'))
    .min(1, '${path} must list at least one service')
    .max(MAX_SERVICES_PER_PERMISSION, `\${path} must list at most ${MAX_SERVICES_PER_PERMISSION} services`);

const createSchema = yup.object({ name: permissionName().required(), serviceIds: serviceIds().required() });
const updateSchema = yup.object({ name: permissionName().optional(), serviceIds: serviceIds().optional() });
const serviceIdsOnly = yup.object({ serviceIds: serviceIds().optional() });

const FILTERS = yup.object({
  q: text().max(PERMISSION_NAME_MAX).optional(),
  name: text().max(PERMISSION_NAME_MAX).optional(),
  serviceId: uuid().optional(),
});
const SORTS = { name: 'name', createdAt: 'created_at', updatedAt: 'updated_at' };

const isValidation = (e: unknown): e is DomainError => e instanceof DomainError && e.code === 'VALIDATION_FAILED';

/**
 * Validates a body and lists every failing field in one answer: the shape (yup), and, for the
 * service ids that are well formed, duplicates and services that do not exist (`serviceIds[i]`),
 * read from the services' streams. The use-case checks existence again before it decides.
 */
async function validatePermissionBody<S extends yup.AnyObjectSchema>(
  svc: HttpServices,
  raw: unknown,
  schema: S,
): Promise<yup.InferType<S>> {
  const errors: FieldError[] = [];
  let body: yup.InferType<S> | undefined;
  try {
    body = validate(schema, raw);
  } catch (e) {
    if (!isValidation(e)) throw e;
    errors.push(...(e.errors ?? []));
  }
  let ids: string[] | undefined;
  try {
    ids = validate(serviceIdsOnly, raw).serviceIds;
  } catch (e) {
    if (!isValidation(e)) throw e;
  }
  if (ids) errors.push(...serviceIdsErrors(ids, await unknownServices(svc.cmd, ids)));
  if (errors.length || !body) throw new DomainError('VALIDATION_FAILED', 'The request has invalid fields', errors);
  return body;
}

/** Permissions over services (admin only; API keys are refused). */
export function permissionsRouter(svc: HttpServices): ApiRouter {
  const r = new ApiRouter({ prefix: '/api/permissions', tag: 'Permissions', auth: 'session', roles: ['admin'] });
  r.use(authenticate(svc), requireRole('admin'));

  r.get(
    '/',
    {
      operationId: 'listPermissions',
      summary: 'List permissions',
      description: 'An unknown query parameter is a 422.',
      query: listQuerySchema(SORTS, FILTERS),
      ok: { status: 200, description: 'A page of permissions', schema: 'PermissionPage' },
    },
    async (ctx) => {
      onlyParams(ctx.query, listParamNames(FILTERS));
      const q = parseList(ctx.query, SORTS, 'name', FILTERS);
      const f = q.filters;
      const base = svc.knex<PermissionRow>('permissions').select('permissions.*');
      if (f.q) base.where('name', 'ilike', containsPattern(f.q));
      if (f.name) base.whereRaw('lower(name) = lower(?)', [f.name]);
      if (f.serviceId) {
        const serviceId = f.serviceId;
        base.whereExists((sub) =>
          sub
            .select(svc.knex.raw('1'))
            .from('permission_services as ps')
            .whereRaw('ps.permission_id = permissions.id')
            .andWhere('ps.service_id', serviceId),
        );
      }
      const page = await paginate<PermissionRow, PermissionRow>(base, q, (row) => row);
      ctx.body = { data: await presentPermissions(svc.knex, page.data), meta: page.meta };
    },
  );

  r.get(
    '/:id',
    {
      operationId: 'getPermission',
      summary: 'One permission',
      ok: { status: 200, description: 'The permission', schema: 'Permission' },
      errors: { 404: 'No such permission' },
    },
    async (ctx) => {
      const p = await findPermissionById(svc.knex, uuidParam(ctx, 'Permission'));
      if (!p) throw new DomainError('NOT_FOUND', 'Permission not found');
      ctx.body = p;
    },
  );

  r.post(
    '/',
    {
      operationId: 'createPermission',
      summary: 'Create a permission over services',
      description: 'Every service id must exist (422, per `serviceIds[i]`).',
      body: { schema: createSchema, example: { name: 'billing:read', serviceIds: ['00000000-0000-4000-8000-000000000000'] } },
      ok: { status: 201, description: 'Created, with its services', schema: 'Permission' },
      errors: { 409: 'The name is taken', 503: 'Saved but not readable yet; GET it again' },
    },
    async (ctx) => {
      const b = await validatePermissionBody(svc, bodyOf(ctx), createSchema);
      const created = await createPermission(svc.cmd, { name: b.name, serviceIds: b.serviceIds as ServiceId[] }, ctx.state.meta);
      await caughtUp(svc, created.position);
      ctx.status = 201;
      ctx.body = readBack(await findPermissionById(svc.knex, created.id), 'permission');
    },
  );

  r.put(
    '/:id',
    {
      operationId: 'updatePermission',
      summary: 'Update a permission',
      body: { schema: updateSchema, example: { name: 'billing:write' } },
      ok: { status: 200, description: 'Updated', schema: 'Permission' },
      errors: { 404: 'No such permission', 409: 'The name is taken', 503: 'Saved but not readable yet; GET it again' },
    },
    async (ctx) => {
      const id = uuidParam(ctx, 'Permission');
      const b = await validatePermissionBody(svc, bodyOf(ctx), updateSchema);
      const position = await updatePermission(
        svc.cmd,
        id,
        { name: b.name, serviceIds: b.serviceIds as ServiceId[] | undefined },
        ctx.state.meta,
      );
      await caughtUp(svc, position);
      ctx.body = readBack(await findPermissionById(svc.knex, id), 'permission');
    },
  );

  r.delete(
    '/:id',
    {
      operationId: 'deletePermission',
      summary: 'Delete a permission',
      ok: { status: 204, description: 'Deleted; its grants go with it' },
      errors: { 404: 'No such permission' },
    },
    async (ctx) => {
      await caughtUp(svc, await deletePermission(svc.cmd, uuidParam(ctx, 'Permission'), ctx.state.meta));
      ctx.status = 204;
    },
  );

  return r;
}
