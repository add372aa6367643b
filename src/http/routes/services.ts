import * as yup from 'yup';
import { DomainError } from '../../errors';
import { SERVICE_DESCRIPTION_MAX, SERVICE_NAME_MAX, SERVICE_NAME_MIN } from '../../commands/service/decider';
import { createService, deleteService, updateService } from '../../commands/service/services';
import { findServiceById, presentService, ServiceRow } from '../../projections/services';
import { ApiRouter } from '../api-router';
import { authenticate, requireRole } from '../auth';
import { listQuerySchema, paginate, parseList } from '../list';
import { caughtUp, Ctx, HttpServices } from '../types';
import { bodyOf, validate } from '../validate';

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An id from the path, checked before it reaches SQL: anything but a UUID is simply not found. */
export const uuidParam = (ctx: Ctx, what: string): string => {
  const id = ctx.params.id;
  if (!id || !UUID_PATTERN.test(id)) throw new DomainError('NOT_FOUND', `${what} not found`);
  return id.toLowerCase();
};

/**
 * Trims strings only: yup's own trim would throw on an array or object, which must be a 422
 * (the type check names the field), not a 500.
 */
export const text = () => yup.string().transform((v: unknown) => (typeof v === 'string' ? v.trim() : v));

/**
 * A query accepts its documented parameters only: an unknown filter is a 422, not silently
 * ignored (validation strips unknown keys, so this runs first).
 */
export const onlyParams = (query: Record<string, unknown>, allowed: readonly string[]): void => {
  const unknown = Object.keys(query).filter((k) => !allowed.includes(k));
  if (unknown.length) {
    throw new DomainError(
      'VALIDATION_FAILED',
      'The request has invalid fields',
      unknown.map((path) => ({ path, message: `${path} is not a parameter here; use: ${allowed.join(', ')}` })),
    );
  }
};

/** The parameters of a list: paging, sorting and its filters. */
export const listParamNames = (filters: yup.AnyObjectSchema): string[] => ['page', 'limit', 'sort', ...Object.keys(filters.fields)];

/** Escapes LIKE wildcards so `q` matches literally. */
export const containsPattern = (q: string): string => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Answers from the read table once the command is in it (read-your-writes). */
export const readBack = <T>(row: T | undefined, what: string): T => {
  if (row === undefined) throw new DomainError('UNAVAILABLE', `The ${what} was saved but cannot be read yet; retry the GET`);
  return row;
};

const serviceName = () =>
  yup
    .string()
    .transform((v: unknown) => (typeof v === 'string' ? v.trim().replace(/\s+/g, ' ') : v))
    .min(SERVICE_NAME_MIN, `\${path} must be at least ${SERVICE_NAME_MIN} characters`)
    .max(SERVICE_NAME_MAX, `\${path} must be at most ${SERVICE_NAME_MAX} characters`)
    .matches(/^[^\u0000-\u001f\u007f]*$/, { message: '${path} must not contain control characters' });

/** An empty description is no description. */
const description = () =>
  text()
    .max(SERVICE_DESCRIPTION_MAX, `\${path} must be at most ${SERVICE_DESCRIPTION_MAX} characters`)
    .transform((v: unknown) => (v === '' ? null : v))
    .nullable();

const createSchema = yup.object({ name: serviceName().required(), description: description().optional() });
const updateSchema = yup.object({ name: serviceName().optional(), description: description().optional() });

const FILTERS = yup.object({ q: text().max(100).optional() });
const SORTS = { name: 'name', createdAt: 'created_at' };

/** The service catalogue (admin only; API keys are refused). Deleting a service removes it for good. */
export function servicesRouter(svc: HttpServices): ApiRouter {
  const r = new ApiRouter({ prefix: '/api/services', tag: 'Services', auth: 'session', roles: ['admin'] });
  r.use(authenticate(svc), requireRole('admin'));

  const existing = async (ctx: Ctx): Promise<ServiceRow> => {
    const row = await findServiceById(svc.knex, uuidParam(ctx, 'Service'));
    if (!row) throw new DomainError('NOT_FOUND', 'Service not found');
    return row;
  };

  r.get(
    '/',
    {
      operationId: 'listServices',
      summary: 'List services',
      description: 'An unknown query parameter is a 422.',
      query: listQuerySchema(SORTS, FILTERS),
      ok: { status: 200, description: 'A page of services', schema: 'ServicePage' },
    },
    async (ctx) => {
      onlyParams(ctx.query, listParamNames(FILTERS));
      const q = parseList(ctx.query, SORTS, 'name', FILTERS);
      const base = svc.knex<ServiceRow>('services').select('*');
      if (q.filters.q) {
        const like = containsPattern(q.filters.q);
        base.where((w) => w.where('name', 'ilike', like).orWhere('description', 'ilike', like));
      }
      ctx.body = await paginate<ServiceRow, ReturnType<typeof presentService>>(base, q, presentService);
    },
  );

  r.get(
    '/:id',
    {
      operationId: 'getService',
      summary: 'One service',
      ok: { status: 200, description: 'The service', schema: 'Service' },
      errors: { 404: 'No such service' },
    },
    async (ctx) => {
      ctx.body = presentService(await existing(ctx));
    },
  );

  r.post(
    '/',
    {
      operationId: 'createService',
      summary: 'Create a service',
      body: { schema: createSchema, example: { name: 'Billing', description: 'Invoices and payments' } },
      ok: { status: 201, description: 'Created', schema: 'Service' },
      errors: { 409: 'The name is taken', 503: 'Saved but not readable yet; GET it again' },
    },
    async (ctx) => {
      const b = validate(createSchema, bodyOf(ctx));
      const created = await createService(svc.cmd, { name: b.name, description: b.description ?? null }, ctx.state.meta);
      await caughtUp(svc, created.position);
      ctx.status = 201;
      ctx.body = presentService(readBack(await findServiceById(svc.knex, created.id), 'service'));
    },
  );

  r.put(
    '/:id',
    {
      operationId: 'updateService',
      summary: 'Update a service',
      body: { schema: updateSchema, example: { description: 'Invoices, payments and refunds' } },
      ok: { status: 200, description: 'Updated', schema: 'Service' },
      errors: { 404: 'No such service', 409: 'The name is taken', 503: 'Saved but not readable yet; GET it again' },
    },
    async (ctx) => {
      const id = uuidParam(ctx, 'Service');
      const b = validate(updateSchema, bodyOf(ctx));
      await caughtUp(svc, await updateService(svc.cmd, id, { name: b.name, description: b.description }, ctx.state.meta));
      ctx.body = presentService(readBack(await findServiceById(svc.knex, id), 'service'));
    },
  );

  r.delete(
    '/:id',
    {
      operationId: 'deleteService',
      summary: 'Delete a service (for good)',
      ok: { status: 204, description: 'Deleted' },
      errors: { 404: 'No such service' },
    },
    async (ctx) => {
      await caughtUp(svc, await deleteService(svc.cmd, uuidParam(ctx, 'Service'), ctx.state.meta));
      ctx.status = 204;
    },
  );

  return r;
}
