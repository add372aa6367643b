import { createAdmin } from '../../src/commands/user/admin-bootstrap';
import { LoggedIn, login, signUpVerified } from '../helpers/flows';
import { bearer, startStack, TestStack, TEST_PASSWORD } from '../helpers/stack';

/**
 * Answers the other suites rarely or never ask for: error statuses, HEAD, OPTIONS, unknown
 * methods and paths. Every one goes through `request()`, so each is checked against the OpenAPI
 * document as well as by the expectations here.
 */
describe('error answers conform to the OpenAPI document', () => {
  let s: TestStack;
  let admin: LoggedIn;
  let viewer: LoggedIn;
  const missing = '00000000-0000-4000-8000-000000000000';

  beforeAll(async () => {
    s = await startStack('openapierr', { REQUIRE_EMAIL_VERIFICATION: 'false' });
    await createAdmin(s.system.services!.cmd, 'root@example.com', TEST_PASSWORD);
    admin = await login(s, 'root@example.com');
    viewer = await signUpVerified(s, 'viewer@example.com', { firstName: 'Vi' });
  });
  afterAll(async () => {
    await s?.stop();
  });

  const as = (who: LoggedIn) => bearer(who.accessToken);

  it('validation failures (422) list fields, on bodies and queries', async () => {
    const cases: [string, string, unknown?, Record<string, string>?][] = [
      ['POST', '/api/auth/register', { email: 'nope', password: 'x' }],
      ['POST', '/api/auth/login', { password: 'x' }],
      ['GET', '/api/auth/verify-email'],
      ['POST', '/api/auth/token', {}],
      ['PATCH', '/api/profile', { role: 'admin' }, as(viewer)],
      ['PATCH', '/api/profile', { email: 'new@example.com' }, as(viewer)],
      ['GET', '/api/users?sort=password', undefined, as(admin)],
      ['GET', '/api/audit?from=yesterday', undefined, as(admin)],
      ['GET', '/api/services?bogus=1', undefined, as(admin)],
      ['GET', '/api/authz/check', undefined, as(viewer)],
      ['POST', '/api/permissions', { name: 'x', serviceIds: [missing] }, as(admin)],
      ['PUT', `/api/users/${viewer.user.id}/permissions`, { permissionIds: [missing] }, as(admin)],
      ['POST', '/api/api-keys', { name: '', expiresAt: '2000-01-01T00:00:00Z' }, as(viewer)],
      ['PUT', `/api/content/${missing}`, {}, as(admin)],
    ];
    for (const [method, path, body, headers] of cases) {
      const r = await s.request(method, path, body, headers);
      expect([method, path, r.status, r.body.code]).toEqual([method, path, 422, 'VALIDATION_FAILED']);
    }
  });

  it('malformed, non-JSON and oversized bodies (400, 415, 413)', async () => {
    expect((await s.request('POST', '/api/auth/login', '{"email":')).status).toBe(400);
    expect((await s.request('POST', '/api/auth/login', 'email=a', { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(
      415,
    );
    expect((await s.request('POST', '/api/auth/login', { password: 'x'.repeat(70 * 1024) })).status).toBe(413);
  });

  it('authentication and authorisation (401, 403)', async () => {
    expect((await s.request('GET', '/api/profile')).status).toBe(401);
    expect((await s.request('GET', '/api/content', undefined, bearer('not.a.token'))).status).toBe(401);
    expect((await s.request('GET', '/api/users', undefined, as(viewer))).status).toBe(403);
    expect((await s.request('POST', '/api/content', { title: 't', body: 'b' }, as(viewer))).status).toBe(403);
    expect((await s.request('PUT', '/api/profile', { name: 'x' }, { 'x-api-key': 'whatever' })).status).toBe(403);
    expect((await s.request('POST', '/api/auth/login', { email: 'root@example.com', password: 'wrong password' })).status).toBe(401);
    expect((await s.request('POST', '/api/auth/token', { refreshToken: 'spent-or-made-up' })).status).toBe(401);
    expect((await s.request('POST', '/api/auth/logout')).status).toBe(401);
  });

  it('not found and conflicts (404, 409, 400)', async () => {
    for (const path of [
      `/api/users/${missing}`,
      '/api/users/not-a-uuid',
      `/api/services/${missing}`,
      `/api/permissions/${missing}`,
      `/api/content/${missing}`,
    ]) {
      expect([path, (await s.request('GET', path, undefined, as(admin))).status]).toEqual([path, 404]);
    }
    expect((await s.request('DELETE', `/api/api-keys/${missing}`, undefined, as(viewer))).status).toBe(404);
    expect((await s.request('PUT', `/api/users/${admin.user.id}/role`, { role: 'viewer' }, as(admin))).status).toBe(409);
    expect((await s.request('POST', '/api/auth/register', { email: 'viewer@example.com', password: TEST_PASSWORD })).status).toBe(409);
    const svc = await s.request('POST', '/api/services', { name: 'Conformance' }, as(admin));
    expect(svc.status).toBe(201);
    expect((await s.request('POST', '/api/services', { name: 'Conformance' }, as(admin))).status).toBe(409);
    expect(
      (
        await s.request('POST', '/api/auth/reset-password', {
          token: 't',
          email: 'viewer@example.com',
          password: 'another good passphrase',
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await s.request(
          'PUT',
          '/api/profile/password',
          { currentPassword: 'wrong one', newPassword: 'another good passphrase' },
          as(viewer),
        )
      ).status,
    ).toBe(400);
  });

  it('unknown paths (404), methods a path does not take (405), HEAD and OPTIONS', async () => {
    expect((await s.request('GET', '/api/nothing-here')).status).toBe(404);
    expect((await s.request('GET', '/api/users/a/b/c', undefined, as(admin))).status).toBe(404);
    const wrong = await s.request('DELETE', '/api/auth/login');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toContain('POST');
    expect((await s.request('HEAD', '/api/profile', undefined, as(viewer))).status).toBe(200);
    expect((await s.request('HEAD', '/health/live')).status).toBe(200);
    expect([200, 204]).toContain((await s.request('OPTIONS', '/api/profile')).status);
  });

  it('successes the other suites do not ask for', async () => {
    expect((await s.request('GET', `/api/users/${viewer.user.id}/permissions`, undefined, as(admin))).status).toBe(200);
    expect((await s.request('GET', '/api/permissions?sort=-updatedAt', undefined, as(admin))).status).toBe(200);
    expect((await s.request('GET', '/api/api-keys', undefined, as(viewer))).status).toBe(200);
    expect((await s.request('GET', '/api/audit?limit=5', undefined, as(admin))).status).toBe(200);
    expect((await s.request('GET', '/api/profile/history', undefined, as(viewer))).status).toBe(200);
    expect((await s.request('GET', '/api/auth/sessions', undefined, as(viewer))).status).toBe(200);
    expect((await s.request('POST', '/api/auth/resend-verification', { email: 'nobody@example.com' })).status).toBe(202);
    expect((await s.request('POST', '/api/auth/forgot-password', { email: 'nobody@example.com' })).status).toBe(202);
    const metrics = await s.request('GET', '/metrics');
    expect([200, 401]).toContain(metrics.status);
  });
});
