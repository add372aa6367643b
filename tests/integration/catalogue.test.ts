import { Client } from 'pg';
import pino from 'pino';
import { RequestMeta } from '../../src/commands/context';
import { DomainError } from '../../src/errors';
import { setUserPermissions } from '../../src/commands/permission/grants';
import { DEFAULT_SERVICES, seedAtStart } from '../../src/commands/seed';
import { createAdmin } from '../../src/commands/user/admin-bootstrap';
import { PostgresEventStore } from '../../src/eventstore/postgres';
import { Position } from '../../src/eventstore/types';
import { permissionsOfUser, permissionsProjection } from '../../src/projections/permissions';
import { replayProjection } from '../../src/projections/replay';
import { servicesProjection } from '../../src/projections/services';
import { createTestDatabase } from '../helpers/db';
import { LoggedIn, login, signUpVerified } from '../helpers/flows';
import { bearer, HttpResult, startStack, TestStack, TEST_PASSWORD } from '../helpers/stack';

interface Service {
  id: string;
  name: string;
  description: string | null;
  createdBy: string | null;
  updatedBy: string | null;
  createdAt: string;
  updatedAt: string;
}
interface Permission {
  id: string;
  name: string;
  services: { id: string; name: string }[];
  createdBy: string | null;
  updatedBy: string | null;
  createdAt: string;
  updatedAt: string;
}
interface Page<T> {
  data: T[];
  meta: { page: number; limit: number; total: number; totalPages: number };
}
interface Problem {
  code: string;
  errors?: { path: string; message: string }[];
}

const ADMIN_EMAIL = 'admin@example.com';
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

const readTypes = async (url: string): Promise<string[]> => {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<{ event_type: string }>('SELECT event_type FROM es_events ORDER BY global_position')).rows.map(
      (r) => r.event_type,
    );
  } finally {
    await c.end();
  }
};

describe('service and permission catalogue', () => {
  let s: TestStack;
  let admin: LoggedIn;
  let viewer: LoggedIn;
  let asAdmin: Record<string, string>;
  let billing: string;
  let reports: string;

  const call = <T = Record<string, unknown>>(method: string, path: string, body?: unknown, as = asAdmin): Promise<HttpResult<T>> =>
    s.request<T>(method, path, body, as);
  const pathsOf = (r: HttpResult<unknown>): string[] => ((r.body as Problem).errors ?? []).map((e) => e.path);
  const meta = (): RequestMeta => ({ correlationId: 'catalogue-test', ip: null, userAgent: 'jest', actorId: admin.user.id });
  const caughtUp = (p: Position | null) => s.system.services!.waiter.whenProcessed(p, 5000);

  const createPermission = async (name: string, serviceIds: string[]): Promise<Permission> => {
    const r = await call<Permission>('POST', '/api/permissions', { name, serviceIds });
    if (r.status !== 201) throw new Error(`create ${name}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const createService = async (name: string, description?: string): Promise<Service> => {
    const r = await call<Service>('POST', '/api/services', { name, description });
    if (r.status !== 201) throw new Error(`create ${name}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };

  beforeAll(async () => {
    s = await startStack('catalogue', { REQUIRE_EMAIL_VERIFICATION: 'false' });
    await createAdmin(s.system.services!.cmd, ADMIN_EMAIL, TEST_PASSWORD);
    admin = await login(s, ADMIN_EMAIL);
    asAdmin = bearer(admin.accessToken);
    viewer = await signUpVerified(s, 'viewer@example.com');
    const list = await call<Page<Service>>('GET', '/api/services?limit=100');
    billing = list.body.data.find((x) => x.name === 'Billing')!.id;
    reports = list.body.data.find((x) => x.name === 'Reports')!.id;
  });
  afterAll(async () => {
    await s?.stop();
  });

  describe('services', () => {
    it('seeds the default catalogue once, each service readable one by one; a restart does not add it again', async () => {
      const list = await call<Page<Service>>('GET', '/api/services?limit=100');
      expect(list.status).toBe(200);
      const seeded = list.body.data.filter((x) => DEFAULT_SERVICES.some((d) => d.id === x.id));
      expect(seeded.map((x) => x.name).sort()).toEqual(DEFAULT_SERVICES.map((d) => d.name).sort());
      for (const x of seeded) {
        const one = await call<Service>('GET', `/api/services/${x.id}`);
        expect(one.status).toBe(200);
        expect(one.body).toEqual(x);
        expect(Object.keys(one.body).sort()).toEqual(['createdAt', 'createdBy', 'description', 'id', 'name', 'updatedAt', 'updatedBy']);
        expect(one.body.description).toEqual(expect.any(String));
      }

      // A restart: another API process on the same database seeds at its start (then goes, to spare connections).
      await (await s.startAnother(['api'])).stop();
      const events = await s.system.knex.raw(
        `SELECT event_type, count(*)::int AS n FROM es_events WHERE event_type IN ('ServiceCreated', 'CatalogueSeeded') AND stream_id IN (${DEFAULT_SERVICES.map(() => '?').join(',')}, 'seed-catalogue-v1') GROUP BY event_type ORDER BY event_type`,
        DEFAULT_SERVICES.map((d) => `service-${d.id}`),
      );
      expect(events.rows).toEqual([
        { event_type: 'CatalogueSeeded', n: 1 },
        { event_type: 'ServiceCreated', n: DEFAULT_SERVICES.length },
      ]);
    });

    it('seeds once when several processes start at the same moment on an empty store', async () => {
      const db = await createTestDatabase('seedrace');
      const store = PostgresEventStore.fromConfig({ connectionString: db.url, max: 4 });
      try {
        await store.migrate();
        const cmd = { ...s.system.services!.cmd, store };
        await Promise.all([seedAtStart(cmd), seedAtStart(cmd), seedAtStart(cmd), seedAtStart(cmd)]);
        await seedAtStart(cmd);
        // The log itself, not readAll: readAll holds back events while any transaction in the
        // cluster (another test file's) is older, which is its job, not what this test checks.
        const types = await readTypes(db.url);
        expect(types.filter((t) => t === 'ServiceCreated')).toHaveLength(DEFAULT_SERVICES.length);
        expect(types.filter((t) => t === 'CatalogueSeeded')).toHaveLength(1);
      } finally {
        await store.close();
        await db.drop();
      }
    });

    it('creates, reads, renames and deletes a service; names are unique case-insensitively and freed on rename or delete', async () => {
      const created = await call<Service>('POST', '/api/services', { name: '  Analytics   Hub ', description: 'Usage analytics' });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        name: 'Analytics Hub',
        description: 'Usage analytics',
        createdBy: admin.user.id,
        updatedBy: admin.user.id,
      });
      const id = created.body.id;
      expect((await call<Service>('GET', `/api/services/${id}`)).body).toEqual(created.body);

      const dup = await call<Problem>('POST', '/api/services', { name: 'analytics hub' });
      expect(dup.status).toBe(409);
      expect(dup.body.code).toBe('CONFLICT');

      const renamed = await call<Service>('PUT', `/api/services/${id}`, { name: 'Insights', description: null });
      expect(renamed.status).toBe(200);
      expect(renamed.body).toMatchObject({ id, name: 'Insights', description: null, createdAt: created.body.createdAt });
      expect((await call<Service>('GET', `/api/services/${id}`)).body.name).toBe('Insights');
      expect((await call('PUT', `/api/services/${id}`, { name: 'billing' })).status).toBe(409);
      // The old name is free again.
      const again = await createService('Analytics Hub');
      expect(again.description).toBeNull();

      expect((await call('DELETE', `/api/services/${id}`)).status).toBe(204);
      expect((await call('GET', `/api/services/${id}`)).status).toBe(404);
      expect((await call('DELETE', `/api/services/${id}`)).status).toBe(404);
      expect((await call('PUT', `/api/services/${id}`, { name: 'Zombie' })).status).toBe(404);
      expect((await call('POST', '/api/services', { name: 'Insights' })).status).toBe(201);
    });

    it('validates services and ids', async () => {
      const bad = await call<Problem>('POST', '/api/services', { name: 'x', description: 'd'.repeat(1001) });
      expect(bad.status).toBe(422);
      expect(pathsOf(bad)).toEqual(['name', 'description']);
      expect(pathsOf(await call('POST', '/api/services', {}))).toEqual(['name']);
      expect(pathsOf(await call('POST', '/api/services', { name: ['a', 'b'] }))).toEqual(['name']);
      expect((await call('GET', '/api/services/not-a-uuid')).status).toBe(404);
      expect((await call('GET', `/api/services/${UNKNOWN_ID}`)).status).toBe(404);
      expect((await call('PUT', '/api/services/not-a-uuid', { name: 'Whatever' })).status).toBe(404);
      expect((await call('DELETE', '/api/services/1 OR 1=1')).status).toBe(404);
    });

    it('lists with q, sort and pagination; undocumented sort or filter is a 422', async () => {
      const m = await call<Page<Service>>('GET', '/api/services?q=MANAGEMENT&sort=-name');
      expect(m.status).toBe(200);
      expect(m.body.data.map((x) => x.name)).toEqual(['User Management', 'Service Management', 'Permission Management']);
      expect((await call<Page<Service>>('GET', '/api/services?q=invoices')).body.data.map((x) => x.name)).toEqual(['Billing']);
      expect((await call<Page<Service>>('GET', '/api/services?q=100%25')).body.data).toEqual([]);

      const all = await call<Page<Service>>('GET', '/api/services?sort=name&limit=100');
      const names = all.body.data.map((x) => x.name);
      expect(names).toEqual([...names].sort((a, b) => (a < b ? -1 : 1)));
      const p2 = await call<Page<Service>>('GET', '/api/services?sort=createdAt&limit=2&page=2');
      expect(p2.body.meta).toEqual({ page: 2, limit: 2, total: all.body.meta.total, totalPages: Math.ceil(all.body.meta.total / 2) });
      const byCreated = await call<Page<Service>>('GET', '/api/services?sort=createdAt&limit=100');
      expect(p2.body.data).toEqual(byCreated.body.data.slice(2, 4));

      for (const q of ['sort=description', 'sort=-updatedAt', 'name=Billing', 'limit=101', 'page=0']) {
        const r = await call<Problem>('GET', `/api/services?${q}`);
        expect([q, r.status]).toEqual([q, 422]);
      }
    });
  });

  describe('permissions', () => {
    it('creates a permission over services: 201 with the services expanded, readable at once', async () => {
      const r = await call<Permission>('POST', '/api/permissions', { name: 'billing:read', serviceIds: [reports, billing.toUpperCase()] });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({
        name: 'billing:read',
        services: [
          { id: billing, name: 'Billing' },
          { id: reports, name: 'Reports' },
        ],
        createdBy: admin.user.id,
        updatedBy: admin.user.id,
      });
      expect(Object.keys(r.body).sort()).toEqual(['createdAt', 'createdBy', 'id', 'name', 'services', 'updatedAt', 'updatedBy']);
      const one = await call<Permission>('GET', `/api/permissions/${r.body.id}`);
      expect(one.status).toBe(200);
      expect(one.body).toEqual(r.body);
      const all = await call<Page<Permission>>('GET', '/api/permissions?limit=100');
      expect(all.body.data).toContainEqual(r.body);
    });

    it('lists every failing field: bad name, empty or malformed service ids, unknown and repeated services', async () => {
      const a = await call<Problem>('POST', '/api/permissions', { name: '1 bad name', serviceIds: [] });
      expect(a.status).toBe(422);
      expect(a.body.code).toBe('VALIDATION_FAILED');
      expect(pathsOf(a)).toEqual(['name', 'serviceIds']);

      const b = await call<Problem>('POST', '/api/permissions', { name: 'ok:name', serviceIds: ['nope', billing, UNKNOWN_ID] });
      expect(b.status).toBe(422);
      expect(pathsOf(b)).toEqual(['serviceIds[0]']);

      const c = await call<Problem>('POST', '/api/permissions', { name: 'x', serviceIds: [billing, UNKNOWN_ID, billing] });
      expect(c.status).toBe(422);
      expect(pathsOf(c)).toEqual(['name', 'serviceIds[1]', 'serviceIds[2]']);
      expect(c.body.errors).toContainEqual({ path: 'serviceIds[1]', message: 'serviceIds[1] is not a known service' });

      expect(pathsOf(await call('POST', '/api/permissions', {}))).toEqual(['name', 'serviceIds']);
      expect(pathsOf(await call('POST', '/api/permissions', { name: 'a'.repeat(65), serviceIds: 'abc' }))).toEqual(['name', 'serviceIds']);
      expect(pathsOf(await call('POST', '/api/permissions', { name: { x: 1 }, serviceIds: [{}] }))).toEqual(['name', 'serviceIds[0]']);
      const many = Array.from({ length: 101 }, () => billing);
      expect(pathsOf(await call('POST', '/api/permissions', { name: 'too.many', serviceIds: many }))).toEqual(['serviceIds']);
      // Nothing was created or claimed by the refused requests.
      expect((await call<Page<Permission>>('GET', '/api/permissions?name=ok:name')).body.meta.total).toBe(0);
      expect((await call('POST', '/api/permissions', { name: 'ok:name', serviceIds: [billing] })).status).toBe(201);
    });

    it('a duplicate name is a 409, case-insensitively', async () => {
      await createPermission('reports:export', [reports]);
      for (const name of ['reports:export', 'REPORTS:Export', '  reports:export ']) {
        const r = await call<Problem>('POST', '/api/permissions', { name, serviceIds: [billing] });
        expect([name, r.status, r.body.code]).toEqual([name, 409, 'CONFLICT']);
      }
    });

    it('updates the name and/or the service set; the old name is freed', async () => {
      const p = await createPermission('notify:send', [billing]);
      const notifications = DEFAULT_SERVICES.find((d) => d.name === 'Notifications')!.id;

      const renamed = await call<Permission>('PUT', `/api/permissions/${p.id}`, { name: 'notify:push' });
      expect(renamed.status).toBe(200);
      expect(renamed.body).toMatchObject({
        id: p.id,
        name: 'notify:push',
        services: [{ id: billing, name: 'Billing' }],
        createdAt: p.createdAt,
      });
      expect(Date.parse(renamed.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(p.updatedAt));

      const moved = await call<Permission>('PUT', `/api/permissions/${p.id}`, { serviceIds: [notifications] });
      expect(moved.body.services).toEqual([{ id: notifications, name: 'Notifications' }]);

      const both = await call<Permission>('PUT', `/api/permissions/${p.id}`, { name: 'notify:all', serviceIds: [notifications, reports] });
      expect(both.body).toMatchObject({ name: 'notify:all', services: [{ name: 'Notifications' }, { name: 'Reports' }] });
      expect((await call<Permission>('GET', `/api/permissions/${p.id}`)).body).toEqual(both.body);

      expect((await call('PUT', `/api/permissions/${p.id}`, { name: 'billing:read' })).status).toBe(409);
      expect(pathsOf(await call('PUT', `/api/permissions/${p.id}`, { name: '-', serviceIds: [UNKNOWN_ID] }))).toEqual([
        'name',
        'serviceIds[0]',
      ]);
      expect(pathsOf(await call('PUT', `/api/permissions/${p.id}`, { serviceIds: [] }))).toEqual(['serviceIds']);
      expect((await call('PUT', `/api/permissions/${UNKNOWN_ID}`, { name: 'ghost:perm' })).status).toBe(404);
      // Freed by the renames:
      await createPermission('notify:send', [billing]);
      await createPermission('notify:push', [billing]);
    });

    it('deletes: 204, then 404; the name can be used again', async () => {
      const p = await createPermission('temp:perm', [billing]);
      expect((await call('DELETE', `/api/permissions/${p.id}`)).status).toBe(204);
      expect((await call('GET', `/api/permissions/${p.id}`)).status).toBe(404);
      expect((await call('DELETE', `/api/permissions/${p.id}`)).status).toBe(404);
      expect((await call('PUT', `/api/permissions/${p.id}`, { name: 'temp:again' })).status).toBe(404);
      expect((await call('GET', '/api/permissions/not-a-uuid')).status).toBe(404);
      await createPermission('temp:perm', [billing]);
    });

    it('sorts, paginates and filters by q, name and serviceId; anything undocumented is a 422', async () => {
      const svc = await createService('Sorting Service');
      const made: Permission[] = [];
      for (const n of ['list.c', 'list.a', 'list.e', 'list.b', 'list.d'])
        made.push(await createPermission(n, n < 'list.c' ? [svc.id] : [billing]));
      await call('PUT', `/api/permissions/${made[0].id}`, { serviceIds: [billing, svc.id] });

      const asc = await call<Page<Permission>>('GET', '/api/permissions?q=LIST.&sort=name&limit=2');
      expect(asc.status).toBe(200);
      expect(asc.body.data.map((p) => p.name)).toEqual(['list.a', 'list.b']);
      expect(asc.body.meta).toEqual({ page: 1, limit: 2, total: 5, totalPages: 3 });
      const page2 = await call<Page<Permission>>('GET', '/api/permissions?q=list.&sort=name&limit=2&page=2');
      expect(page2.body.data.map((p) => p.name)).toEqual(['list.c', 'list.d']);
      expect(page2.body.meta).toEqual({ page: 2, limit: 2, total: 5, totalPages: 3 });
      const last = await call<Page<Permission>>('GET', '/api/permissions?q=list.&sort=name&limit=2&page=4');
      expect(last.body.data).toEqual([]);

      const desc = await call<Page<Permission>>('GET', '/api/permissions?q=list.&sort=-name');
      expect(desc.body.data.map((p) => p.name)).toEqual(['list.e', 'list.d', 'list.c', 'list.b', 'list.a']);
      const byCreated = await call<Page<Permission>>('GET', '/api/permissions?q=list.&sort=createdAt');
      expect(byCreated.body.data.map((p) => p.name)).toEqual(['list.c', 'list.a', 'list.e', 'list.b', 'list.d']);
      const byUpdated = await call<Page<Permission>>('GET', '/api/permissions?q=list.&sort=-updatedAt');
      expect(byUpdated.body.data[0].name).toBe('list.c');

      const exact = await call<Page<Permission>>('GET', '/api/permissions?name=LIST.B');
      expect(exact.body.data.map((p) => p.name)).toEqual(['list.b']);
      expect((await call<Page<Permission>>('GET', '/api/permissions?name=list')).body.meta.total).toBe(0);
      const bySvc = await call<Page<Permission>>(`GET`, `/api/permissions?serviceId=${svc.id}&sort=name`);
      expect(bySvc.body.data.map((p) => p.name)).toEqual(['list.a', 'list.b', 'list.c']);
      expect(bySvc.body.data[2].services.map((x) => x.name)).toEqual(['Billing', 'Sorting Service']);
      const combined = await call<Page<Permission>>('GET', `/api/permissions?serviceId=${billing}&q=list.&sort=-name&limit=1`);
      expect(combined.body.data.map((p) => p.name)).toEqual(['list.e']);
      expect(combined.body.meta.total).toBe(3);
      expect((await call<Page<Permission>>('GET', '/api/permissions?q=%25')).body.meta.total).toBe(0);

      for (const q of ['sort=id', 'sort=-services', 'foo=1', 'createdBy=x', 'serviceId=nope', 'limit=0', 'page=abc']) {
        const r = await call<Problem>('GET', `/api/permissions?${q}`);
        expect([q, r.status, r.body.code]).toEqual([q, 422, 'VALIDATION_FAILED']);
      }
    });

    it('deleting a service takes it off every permission that listed it', async () => {
      const temp = await createService('Short Lived');
      const p = await createPermission('shortlived:use', [temp.id, billing]);
      expect(p.services.map((x) => x.name)).toEqual(['Billing', 'Short Lived']);
      expect((await call('DELETE', `/api/services/${temp.id}`)).status).toBe(204);
      expect((await call<Permission>('GET', `/api/permissions/${p.id}`)).body.services).toEqual([{ id: billing, name: 'Billing' }]);
      expect((await call<Page<Permission>>('GET', `/api/permissions?serviceId=${temp.id}`)).body.meta.total).toBe(0);
      expect(pathsOf(await call('PUT', `/api/permissions/${p.id}`, { serviceIds: [temp.id] }))).toEqual(['serviceIds[0]']);
    });
  });

  describe('access', () => {
    const routes = (id: string): [string, string, unknown?][] => [
      ['GET', '/api/services'],
      ['GET', `/api/services/${id}`],
      ['POST', '/api/services', { name: 'Sneaky' }],
      ['PUT', `/api/services/${id}`, { name: 'Sneaky' }],
      ['DELETE', `/api/services/${id}`],
      ['GET', '/api/permissions'],
      ['GET', `/api/permissions/${id}`],
      ['POST', '/api/permissions', { name: 'sneaky', serviceIds: [id] }],
      ['PUT', `/api/permissions/${id}`, { name: 'sneaky' }],
      ['DELETE', `/api/permissions/${id}`],
    ];

    it('a non-admin gets 403 and an anonymous caller 401 on every route; nothing changes', async () => {
      for (const [method, path, body] of routes(billing)) {
        const v = await s.request<Problem>(method, path, body, bearer(viewer.accessToken));
        expect([method, path, v.status, v.body.code]).toEqual([method, path, 403, 'FORBIDDEN']);
        const anon = await s.request<Problem>(method, path, body);
        expect([method, path, anon.status]).toEqual([method, path, 401]);
      }
      expect((await call<Service>('GET', `/api/services/${billing}`)).body.name).toBe('Billing');
    });
  });

  describe('grants and authz', () => {
    it('a user granted a permission over X is allowed X by id and by name, not Y; revoking takes effect at once', async () => {
      const cmd = s.system.services!.cmd;
      const x = await createService('Grant X');
      const y = await createService('Grant Y');
      const px = await createPermission('grant:x', [x.id]);
      const pboth = await createPermission('grant:xy', [x.id, y.id]);
      const check = (service: string, as = bearer(viewer.accessToken)) =>
        s.request<{ allowed: boolean; permissions: string[] }>(
          'GET',
          `/api/authz/check?service=${encodeURIComponent(service)}`,
          undefined,
          as,
        );

      expect((await check(x.id)).body).toEqual({ allowed: false, permissions: [] });

      const position = await setUserPermissions(cmd, viewer.user.id, [px.id], meta());
      expect((await check(x.id)).body).toEqual({ allowed: true, permissions: ['grant:x'] });
      expect((await check(x.id.toUpperCase())).body).toEqual({ allowed: true, permissions: ['grant:x'] });
      expect((await check('grant x')).body).toEqual({ allowed: true, permissions: ['grant:x'] });
      expect((await check('  GRANT   X ')).body).toEqual({ allowed: true, permissions: ['grant:x'] });
      expect((await check(y.id)).body).toEqual({ allowed: false, permissions: [] });
      expect((await check('Grant Y')).body).toEqual({ allowed: false, permissions: [] });
      expect((await check('No Such Service')).body).toEqual({ allowed: false, permissions: [] });
      expect((await check(UNKNOWN_ID)).body).toEqual({ allowed: false, permissions: [] });
      // The admin holds no grant: being admin is not a permission over a service.
      expect((await check(x.id, asAdmin)).body).toEqual({ allowed: false, permissions: [] });

      expect(await caughtUp(position)).toBe(true);
      expect(await permissionsOfUser(s.system.knex, viewer.user.id)).toEqual([
        { id: px.id, name: 'grant:x', services: [{ id: x.id, name: 'Grant X' }] },
      ]);

      await setUserPermissions(cmd, viewer.user.id, [px.id, pboth.id], meta());
      expect((await check(x.id)).body).toEqual({ allowed: true, permissions: ['grant:x', 'grant:xy'] });
      expect((await check(y.id)).body).toEqual({ allowed: true, permissions: ['grant:xy'] });

      // A deleted permission no longer grants anything; a deleted service is not allowed.
      expect((await call('DELETE', `/api/permissions/${pboth.id}`)).status).toBe(204);
      expect((await check(y.id)).body).toEqual({ allowed: false, permissions: [] });
      expect(await permissionsOfUser(s.system.knex, viewer.user.id)).toEqual([
        { id: px.id, name: 'grant:x', services: [{ id: x.id, name: 'Grant X' }] },
      ]);

      const cleared = await setUserPermissions(cmd, viewer.user.id, [], meta());
      expect((await check(x.id)).body).toEqual({ allowed: false, permissions: [] });
      expect(await caughtUp(cleared)).toBe(true);
      expect(await permissionsOfUser(s.system.knex, viewer.user.id)).toEqual([]);
    });

    it('setUserPermissions: the user and every permission must exist', async () => {
      const cmd = s.system.services!.cmd;
      const p = await createPermission('grant:check', [billing]);
      const err = async (f: () => Promise<unknown>): Promise<DomainError> => {
        try {
          await f();
        } catch (e) {
          if (e instanceof DomainError) return e;
          throw e;
        }
        throw new Error('expected a DomainError');
      };
      expect((await err(() => setUserPermissions(cmd, UNKNOWN_ID, [p.id], meta()))).code).toBe('NOT_FOUND');
      const bad = await err(() => setUserPermissions(cmd, viewer.user.id, [p.id, UNKNOWN_ID, p.id], meta()));
      expect(bad.code).toBe('VALIDATION_FAILED');
      expect(bad.errors?.map((e) => e.path)).toEqual(['permissionIds[1]', 'permissionIds[2]']);
      expect(await setUserPermissions(cmd, viewer.user.id, [p.id], meta())).not.toBeNull();
      // The same set again records nothing.
      expect(await setUserPermissions(cmd, viewer.user.id, [p.id], meta())).toBeNull();
    });

    it('authz check: authentication required, service required, API keys limited to their permissions', async () => {
      expect((await s.request('GET', `/api/authz/check?service=${billing}`)).status).toBe(401);
      expect(pathsOf(await s.request('GET', '/api/authz/check', undefined, bearer(viewer.accessToken)))).toEqual(['service']);
      expect(pathsOf(await s.request('GET', `/api/authz/check?service=${billing}&user=x`, undefined, bearer(viewer.accessToken)))).toEqual([
        'user',
      ]);

      const cmd = s.system.services!.cmd;
      const reportsRead = await createPermission('reports:read', [reports]);
      const billingPay = await createPermission('billing:pay', [billing]);
      await setUserPermissions(cmd, viewer.user.id, [reportsRead.id, billingPay.id], meta());

      const newKey = async (permissionIds: string[]): Promise<Record<string, string>> => {
        const r = await s.request<{ key: string }>(
          'POST',
          '/api/api-keys',
          { name: `key ${permissionIds.length}`, permissionIds },
          bearer(viewer.accessToken),
        );
        expect(r.status).toBe(201);
        return { 'x-api-key': r.body.key };
      };
      const limited = await newKey([reportsRead.id]);
      const check = (service: string, headers: Record<string, string>) =>
        s.request<{ allowed: boolean; permissions: string[] }>('GET', `/api/authz/check?service=${service}`, undefined, headers);
      expect((await check(reports, limited)).body).toEqual({ allowed: true, permissions: ['reports:read'] });
      expect((await check(billing, limited)).body).toEqual({ allowed: false, permissions: [] });
      expect((await check(billing, bearer(viewer.accessToken))).body).toEqual({ allowed: true, permissions: ['billing:pay'] });
      const none = await newKey([]);
      expect((await check(reports, none)).body).toEqual({ allowed: false, permissions: [] });
      // A key never reaches the admin routes.
      expect((await s.request('GET', '/api/services', undefined, limited)).status).toBe(403);
    });
  });

  it('replays the catalogue read models into identical rows', async () => {
    const snapshot = async () => ({
      services: await s.system.knex('services').orderBy('id'),
      permissions: await s.system.knex('permissions').orderBy('id'),
      links: (await s.system.knex('permission_services').orderBy(['permission_id', 'service_id'])).map(({ id: _id, ...rest }) => rest),
      grants: await s.system.knex('user_permissions').orderBy(['user_id', 'permission_id']),
    });
    expect(await caughtUp(await s.system.store.headPosition())).toBe(true);
    const before = await snapshot();
    const deps = { knex: s.system.knex, store: s.system.store, connectionString: s.db.url, log: pino({ level: 'silent' }) };
    await replayProjection(deps, servicesProjection);
    await replayProjection(deps, permissionsProjection);
    expect(await snapshot()).toEqual(before);
    const indexes = await s.system.knex.raw(
      `SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename IN ('services', 'permissions') AND indexname LIKE '%trgm%' ORDER BY indexname`,
    );
    expect(indexes.rows.map((r: { indexname: string }) => r.indexname)).toEqual([
      'permissions_name_trgm_idx',
      'services_description_trgm_idx',
      'services_name_trgm_idx',
    ]);
  });
});
