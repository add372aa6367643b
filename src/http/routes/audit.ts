import * as yup from 'yup';
import { AuditWithActor, auditProjection, presentAudit } from '../../projections/audit';
import { ApiRouter } from '../api-router';
import { authenticate, requireRole } from '../auth';
import { listQuerySchema, paginate, parseList } from '../list';
import { HttpServices } from '../types';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const instant = () => yup.string().datetime({ allowOffset: true, message: '${path} must be an ISO 8601 date-time' });

const SORTS = { at: 'l.at' };

const auditFilters = yup
  .object({
    userId: yup.string().trim().matches(UUID, '${path} must be a UUID').optional(),
    actorId: yup.string().trim().matches(UUID, '${path} must be a UUID').optional(),
    type: yup
      .string()
      .trim()
      .max(64)
      .matches(/^[A-Za-z][A-Za-z0-9]*$/, '${path} must be an event type name')
      .optional(),
    from: instant().optional(),
    to: instant().optional(),
  })
  .test('range', 'from must not be after to', function (v) {
    return !v.from || !v.to || Date.parse(v.from) <= Date.parse(v.to)
      ? true
      : this.createError({ path: 'to', message: 'to must not be before from' });
  });

/**
 * The event log as audit entries (admins only; sessions only, an API key never reads it).
 * `userId` matches events about that user (their stream, their sessions, their keys);
 * `from` and `to` are inclusive.
 */
export function auditRouter(svc: HttpServices): ApiRouter {
  const r = new ApiRouter({ prefix: '/api/audit', tag: 'Audit', auth: 'session', roles: ['admin'] });
  r.use(authenticate(svc), requireRole('admin'));

  r.get(
    '/',
    {
      operationId: 'audit',
      summary: 'The event log as audit entries',
      description: '`userId` matches events about that user (their stream, sessions and keys); `from` and `to` are inclusive.',
      query: listQuerySchema(SORTS, auditFilters),
      ok: { status: 200, description: 'A page of entries', schema: 'AuditPage' },
    },
    async (ctx) => {
      const q = parseList(ctx.query, SORTS, '-at', auditFilters, 'l.seq');
      // Commands do not wait for the audit log; a query does: it sees everything committed before it.
      await svc.waiter.whenProcessed(await svc.cmd.store.headPosition(), svc.config.readYourWritesTimeoutMs, [auditProjection.name]);
      const f = q.filters;
      const base = svc.knex('audit_log as l').leftJoin('users as a', 'a.id', 'l.actor_id').select('l.*', 'a.email as actor_email');
      if (f.userId) base.andWhere('l.subject_id', f.userId);
      if (f.actorId) base.andWhere('l.actor_id', f.actorId);
      if (f.type) base.andWhere('l.type', f.type);
      if (f.from) base.andWhere('l.at', '>=', new Date(f.from));
      if (f.to) base.andWhere('l.at', '<=', new Date(f.to));
      ctx.body = await paginate<AuditWithActor, ReturnType<typeof presentAudit>>(base, q, presentAudit);
    },
  );

  return r;
}
