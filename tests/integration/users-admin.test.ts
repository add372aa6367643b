import { createAdmin } from '../../src/commands/user/admin-bootstrap';
import { bearer, startStack, TestStack, TEST_PASSWORD } from '../helpers/stack';
import { eventually } from '../helpers/eventually';
import { LoggedIn, login, signUpVerified } from '../helpers/flows';

type Json = Record<string, unknown>;
type Page = { data: Json[]; meta: { page: number; limit: number; total: number; totalPages: number } };

describe('admin user management', () => {
  let s: TestStack;
  let admin: LoggedIn;
  beforeAll(async () => {
    s = await startStack('usersadmin', { REQUIRE_EMAIL_VERIFICATION: 'false' });
    await createAdmin(s.system.services!.cmd, 'root@example.com', TEST_PASSWORD);
    admin = await login(s, 'root@example.com');
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('lists users with filters, sorting and pagination; anything undocumented is a 422', async () => {
    for (const [i, last] of ['Zed', 'Adams', 'Mills'].entries()) {
      await signUpVerified(s, `list${i}@example.com`, { firstName: `List${i}`, lastName: last, username: `lister${i}` });
    }
    const all = await s.request<Page>('GET', '/api/users?q=list&sort=lastName&limit=2', undefined, bearer(admin.accessToken));
    expect(all.status).toBe(200);
    expect(all.body.meta).toEqual({ page: 1, limit: 2, total: 3, totalPages: 2 });
    expect(all.body.data.map((u) => u.lastName)).toEqual(['Adams', 'Mills']);
    const page2 = await s.request<Page>('GET', '/api/users?q=list&sort=lastName&limit=2&page=2', undefined, bearer(admin.accessToken));
    expect(page2.body.data.map((u) => u.lastName)).toEqual(['Zed']);
    const desc = await s.request<Page>('GET', '/api/users?q=LISTER&sort=-lastName', undefined, bearer(admin.accessToken));
    expect(desc.body.data.map((u) => u.lastName)).toEqual(['Zed', 'Mills', 'Adams']);
    const admins = await s.request<Page>('GET', '/api/users?role=Admin', undefined, bearer(admin.accessToken));
    expect(admins.body.data.map((u) => u.email)).toEqual(['root@example.com']);
    expect(admins.body.meta.total).toBe(1);
    const viewers = await s.request<Page>('GET', '/api/users?role=viewer&emailVerified=true', undefined, bearer(admin.accessToken));
    expect(viewers.body.meta.total).toBe(viewers.body.data.length);
    expect(viewers.body.data.every((u) => u.role === 'viewer' && u.emailVerified === true)).toBe(true);
    expect(JSON.stringify(all.body)).not.toMatch(/password|search/i);

    for (const bad of ['sort=password', 'sort=-passwordHash', 'role=superuser', 'limit=1000', 'page=0']) {
      const r = await s.request('GET', `/api/users?${bad}`, undefined, bearer(admin.accessToken));
      expect([bad, r.status]).toEqual([bad, 422]);
    }
  });

  it('changes a role: the user’s existing token loses the old role at once', async () => {
    const u = await signUpVerified(s, 'promote@example.com');
    expect((await s.request('GET', '/api/users', undefined, bearer(u.accessToken))).status).toBe(403);
    const r = await s.request<Json>('PUT', `/api/users/${u.user.id}/role`, { role: 'Admin' }, bearer(admin.accessToken));
    expect(r.status).toBe(200);
    expect(r.body.role).toBe('admin');
    expect((await s.request('GET', '/api/auth/me', undefined, bearer(u.accessToken))).status).toBe(401);
    const promoted = await login(s, 'promote@example.com');
    expect((await s.request('GET', '/api/users', undefined, bearer(promoted.accessToken))).status).toBe(200);

    // And back: the demoted admin's token stops working on its next request.
    expect((await s.request('PUT', `/api/users/${u.user.id}/role`, { role: 'viewer' }, bearer(admin.accessToken))).status).toBe(200);
    expect((await s.request('GET', '/api/users', undefined, bearer(promoted.accessToken))).status).toBe(401);
    const demoted = await login(s, 'promote@example.com');
    expect((await s.request('GET', '/api/users', undefined, bearer(demoted.accessToken))).status).toBe(403);

    const bad = await s.request('PUT', `/api/users/${u.user.id}/role`, { role: 'root' }, bearer(admin.accessToken));
    expect(bad.status).toBe(422);
    const self = await s.request('PUT', `/api/users/${admin.user.id}/role`, { role: 'viewer' }, bearer(admin.accessToken));
    expect(self.status).toBe(409);
  });

  it('soft-deletes and restores: sessions end, deleted users are listed only on request, restore brings no session back', async () => {
    const u = await signUpVerified(s, 'gone@example.com');
    const del = await s.request('DELETE', `/api/users/${u.user.id}`, undefined, bearer(admin.accessToken));
    expect(del.status).toBe(200);
    expect((await s.request('GET', '/api/auth/me', undefined, bearer(u.accessToken))).status).toBe(401);
    expect((await s.request('POST', '/api/auth/login', { email: 'gone@example.com', password: TEST_PASSWORD })).status).toBe(401);
    const hidden = await s.request<Page>('GET', '/api/users?q=gone@', undefined, bearer(admin.accessToken));
    expect(hidden.body.data).toHaveLength(0);
    const shown = await s.request<Page>('GET', '/api/users?q=gone@&includeDeleted=true', undefined, bearer(admin.accessToken));
    expect(shown.body.data).toHaveLength(1);
    const [live, everyone] = await Promise.all([
      s.request<Page>('GET', '/api/users?limit=100', undefined, bearer(admin.accessToken)),
      s.request<Page>('GET', '/api/users?limit=100&includeDeleted=true', undefined, bearer(admin.accessToken)),
    ]);
    expect(everyone.body.meta.total).toBe(live.body.meta.total + 1);
    expect(live.body.meta.total).toBe(live.body.data.length);
    expect(shown.body.data[0].isDeleted).toBe(true);

    const res = await s.request<Json>('PUT', `/api/users/${u.user.id}/restore`, undefined, bearer(admin.accessToken));
    expect(res.status).toBe(200);
    expect((res.body.user as Json).isDeleted).toBe(false);
    expect((await s.request('POST', '/api/auth/token', { refreshToken: u.refreshToken })).status).toBe(401);
    expect((await s.request('POST', '/api/auth/login', { email: 'gone@example.com', password: TEST_PASSWORD })).status).toBe(200);

    const h = await s.request<Page>('GET', `/api/users/${u.user.id}/history`, undefined, bearer(admin.accessToken));
    const deleted = h.body.data.find((x) => x.field === 'isDeleted' && x.newValue === true);
    expect(deleted).toMatchObject({ actor: { id: admin.user.id, email: 'root@example.com' } });
  });

  it('lists and ends a user’s sessions', async () => {
    const u = await signUpVerified(s, 'sess@example.com');
    await login(s, 'sess@example.com', TEST_PASSWORD, 'tablet');
    const list = await s.request<{ data: Json[] }>('GET', `/api/users/${u.user.id}/sessions`, undefined, bearer(admin.accessToken));
    expect(list.body.data).toHaveLength(2);
    expect((await s.request('DELETE', `/api/users/${u.user.id}/sessions`, undefined, bearer(admin.accessToken))).status).toBe(204);
    expect(
      (await s.request<{ data: Json[] }>('GET', `/api/users/${u.user.id}/sessions`, undefined, bearer(admin.accessToken))).body.data,
    ).toHaveLength(0);
    expect((await s.request('GET', '/api/auth/me', undefined, bearer(u.accessToken))).status).toBe(401);
  });

  it("ending a user's sessions: each session's own stream says they were revoked, as the user's stream does", async () => {
    const u = await signUpVerified(s, 'ended@example.com');
    const tablet = await login(s, 'ended@example.com', TEST_PASSWORD, 'tablet');
    expect((await s.request('DELETE', `/api/users/${u.user.id}/sessions`, undefined, bearer(admin.accessToken))).status).toBe(204);
    // The revoke job follows on each session's stream; the audit log shows what each recorded.
    const audit = (type: string) =>
      s.request<Page>('GET', `/api/audit?userId=${u.user.id}&type=${type}&limit=100`, undefined, bearer(admin.accessToken));
    const revoked = await eventually(
      async () => {
        const page = await audit('SessionRevoked');
        return page.body.data.length === 2 ? page.body.data : undefined;
      },
      10_000,
      'both sessions revoked on their own streams',
    );
    expect(revoked.map((e) => e.stream).sort()).toEqual([`session-${u.sessionId}`, `session-${tablet.sessionId}`].sort());
    expect(revoked.map((e) => (e.data as Json).reason)).toEqual(['revoked', 'revoked']);
    expect((await audit('AllSessionsEnded')).body.data.map((e) => (e.data as Json).reason)).toEqual(['revoked']);
  });

  it('grants permissions to a user, which the authz check then reports, and the audit shows who changed a role', async () => {
    const u = await signUpVerified(s, 'granted@example.com');
    const services = await s.request<Page>('GET', '/api/services?sort=name', undefined, bearer(admin.accessToken));
    const [billing, reports] = ['Billing', 'Reports'].map((n) => services.body.data.find((x) => x.name === n)!);
    const perm = await s.request<Json>(
      'POST',
      '/api/permissions',
      { name: 'billing:read', serviceIds: [billing.id] },
      bearer(admin.accessToken),
    );
    expect(perm.status).toBe(201);

    const bad = await s.request<Json>('PUT', `/api/users/${u.user.id}/permissions`, { permissionIds: ['nope'] }, bearer(admin.accessToken));
    expect(bad.status).toBe(422);
    const g = await s.request<{ data: Json[] }>(
      'PUT',
      `/api/users/${u.user.id}/permissions`,
      { permissionIds: [perm.body.id] },
      bearer(admin.accessToken),
    );
    expect(g.status).toBe(200);
    expect(g.body.data.map((p) => p.name)).toEqual(['billing:read']);

    const yes = await s.request<Json>('GET', `/api/authz/check?service=${billing.id}`, undefined, bearer(u.accessToken));
    expect(yes.body).toEqual({ allowed: true, permissions: ['billing:read'] });
    const no = await s.request<Json>(
      'GET',
      `/api/authz/check?service=${encodeURIComponent(String(reports.name))}`,
      undefined,
      bearer(u.accessToken),
    );
    expect(no.body).toEqual({ allowed: false, permissions: [] });

    expect((await s.request('PUT', `/api/users/${u.user.id}/role`, { role: 'editor' }, bearer(admin.accessToken))).status).toBe(200);
    const audit = await s.request<Page>('GET', `/api/audit?userId=${u.user.id}&type=RoleChanged`, undefined, bearer(admin.accessToken));
    expect(audit.status).toBe(200);
    expect(audit.body.data).toHaveLength(1);
    expect(audit.body.data[0]).toMatchObject({ type: 'RoleChanged', actor: { id: admin.user.id, email: 'root@example.com' } });
  });

  it('answers 404 for unknown or malformed ids and 403 for non-admins everywhere', async () => {
    expect((await s.request('GET', '/api/users/00000000-0000-4000-8000-000000000000', undefined, bearer(admin.accessToken))).status).toBe(
      404,
    );
    expect((await s.request('GET', "/api/users/1' OR '1'='1", undefined, bearer(admin.accessToken))).status).toBe(404);
    const v = await signUpVerified(s, 'viewer@example.com');
    const id = v.user.id;
    for (const [m, p] of [
      ['GET', '/api/users'],
      ['GET', `/api/users/${id}`],
      ['PUT', `/api/users/${id}/role`],
      ['DELETE', `/api/users/${id}`],
      ['PUT', `/api/users/${id}/restore`],
      ['GET', `/api/users/${id}/history`],
      ['GET', `/api/users/${id}/sessions`],
      ['DELETE', `/api/users/${id}/sessions`],
      ['GET', `/api/users/${id}/permissions`],
      ['PUT', `/api/users/${id}/permissions`],
    ]) {
      const r = await s.request(m, p, m === 'PUT' ? { role: 'admin', permissionIds: [] } : undefined, bearer(v.accessToken));
      expect([m, p, r.status]).toEqual([m, p, 403]);
      expect((await s.request(m, p)).status).toBe(401);
    }
  });
});
