import { createAdmin } from '../../src/commands/user/admin-bootstrap';
import { login, LoggedIn, signUpVerified } from '../helpers/flows';
import { bearer, startStack, TestStack, TEST_PASSWORD } from '../helpers/stack';

type Json = Record<string, unknown>;

/**
 * What the API does with hostile or sloppy requests: size, media type, syntax, extra fields,
 * prototype keys, huge strings, wrong methods, ids and sorts. OWASP ASVS 5.0 V1, V2, V4, V15.
 */
describe('requests (OWASP ASVS 5.0 V1.3, V2.2, V4, V15.3)', () => {
  let s: TestStack;
  let admin: LoggedIn;
  let user: LoggedIn;

  beforeAll(async () => {
    s = await startStack('requests');
    await createAdmin(s.system.services!.cmd, 'root@example.com', TEST_PASSWORD);
    admin = await login(s, 'root@example.com');
    user = await signUpVerified(s, 'plain@example.com');
  });
  afterAll(async () => {
    await s?.stop();
  });

  const expectProblem = (r: { status: number; body: unknown; headers: Headers }, status: number, code: string) => {
    expect(r.status).toBe(status);
    expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(r.body).toMatchObject({ status, code });
    expect(JSON.stringify(r.body)).not.toMatch(/\s+at\s+\S+\s+\(|node_modules/);
  };

  it('RFC 9110 15.5.14 / ASVS 5.0 V2.4.1: a body over 64 KiB is refused with 413 before it is used', async () => {
    const body = JSON.stringify({ email: 'big@example.com', password: TEST_PASSWORD, pad: 'x'.repeat(70 * 1024) });
    expectProblem(await s.request('POST', '/api/auth/login', body), 413, 'PAYLOAD_TOO_LARGE');
    // Just under the limit is parsed (and the unknown field ignored).
    const fits = JSON.stringify({ email: 'plain@example.com', password: TEST_PASSWORD, pad: 'x'.repeat(60 * 1024) });
    expect((await s.request('POST', '/api/auth/login', fits)).status).toBe(200);
  });

  it('RFC 9110 15.5.16 / ASVS 5.0 V2.2.1: a body that is not JSON is a 415 (forms and plain text included)', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml']) {
      expectProblem(
        await s.request('POST', '/api/auth/login', 'email=plain%40example.com&password=x', { 'content-type': type }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      );
    }
  });

  it('ASVS 5.0 V2.2.1: malformed JSON is a 400 MALFORMED_JSON; a JSON body that is not an object is a 422', async () => {
    for (const bad of ['{"email": "a@b.c",', "{'email': 'x'}", '{"a":1}}', 'NaN']) {
      expectProblem(await s.request('POST', '/api/auth/login', bad), 400, 'MALFORMED_JSON');
    }
    expectProblem(await s.request('POST', '/api/auth/login', '["plain@example.com"]'), 422, 'VALIDATION_FAILED');
  });

  it('ASVS 5.0 V15.3.3: unknown fields are ignored, never mass-assigned — role and emailVerified at sign-up change nothing', async () => {
    const r = await s.request('POST', '/api/auth/register', {
      email: 'mass@example.com',
      password: TEST_PASSWORD,
      role: 'admin',
      emailVerified: true,
      email_verified: true,
      isDeleted: false,
      id: '00000000-0000-4000-8000-000000000000',
      passwordHash: '$2b$04$abcdefghijklmnopqrstuu',
      createdBy: admin.user.id,
    });
    expect(r.status).toBe(201);
    await s.projected();
    const row = await s.system.knex('users').where({ email: 'mass@example.com' }).first();
    expect(row).toMatchObject({ role: 'viewer', email_verified: false });
    expect(row.id).not.toBe('00000000-0000-4000-8000-000000000000');
    expect(row.created_by).not.toBe(admin.user.id);
    const signIn = await s.request('POST', '/api/auth/login', { email: 'mass@example.com', password: TEST_PASSWORD });
    expect(signIn.status).toBe(403);
    expect(signIn.body).toMatchObject({ code: 'EMAIL_NOT_VERIFIED' });
    // The profile refuses them outright.
    const edit = await s.request('PATCH', '/api/profile', { role: 'admin', emailVerified: true }, bearer(user.accessToken));
    expect(edit.status).toBe(422);
  });

  it('ASVS 5.0 V15.3.6: __proto__, constructor and prototype keys pollute nothing and change nothing', async () => {
    // "__proto__" anywhere: the parser refuses the body, nothing is created.
    const proto = '{"email":"proto@example.com","password":"correct horse battery staple","__proto__":{"isAdmin":true,"role":"admin"}}';
    const refused = await s.request('POST', '/api/auth/register', proto);
    expectProblem(refused, 400, 'MALFORMED_JSON');
    expect(refused.body).toMatchObject({ detail: expect.stringMatching(/__proto__/) });
    const nested =
      '{"email":"proto@example.com","password":"correct horse battery staple","profile":{"a":{"__proto__":{"polluted":true}}}}';
    expectProblem(await s.request('POST', '/api/auth/register', nested), 400, 'MALFORMED_JSON');
    await s.projected();
    expect(await s.system.knex('users').where({ email: 'proto@example.com' }).first()).toBeUndefined();

    // "constructor" / "prototype": removed at every level before any route sees the body.
    const ctor =
      '{"email":"ctor@example.com","password":"correct horse battery staple",' +
      '"constructor":{"prototype":{"isAdmin":true,"role":"admin"}},' +
      '"profile":{"theme":"dark","prototype":{"polluted":true},"nested":{"constructor":{"prototype":{"polluted":true}}}}}';
    expect((await s.request('POST', '/api/auth/register', ctor)).status).toBe(201);
    await s.projected();
    const row = await s.system.knex('users').where({ email: 'ctor@example.com' }).first();
    expect(row).toMatchObject({ role: 'viewer', email_verified: false });
    expect(row.profile).toEqual({ theme: 'dark', nested: {} });

    const patch = '{"profile":{"a":{"constructor":{"prototype":{"polluted":true}}}},"constructor":{"prototype":{"role":"admin"}}}';
    const edited = await s.request<Json>('PATCH', '/api/profile', patch, bearer(user.accessToken));
    expect(edited.status).toBe(200);
    expect(edited.body.user).toMatchObject({ role: 'viewer', profile: { a: {} } });

    // The API runs in this process: Object.prototype would show any pollution here.
    const probe: Record<string, unknown> = {};
    for (const key of ['isAdmin', 'polluted', 'role']) expect([key, probe[key]]).toEqual([key, undefined]);
  });

  it('ASVS 5.0 V2.4.1: JSON nested deeper than 32 levels is a 422, never a crash', async () => {
    for (const depth of [40, 10000]) {
      const raw = `{"email":"deep@example.com","password":"correct horse battery staple","profile":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
      expectProblem(await s.request('POST', '/api/auth/register', raw), 422, 'VALIDATION_FAILED');
      const arrays = `{"email":"deep@example.com","password":"correct horse battery staple","profile":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
      expectProblem(await s.request('POST', '/api/auth/register', arrays), 422, 'VALIDATION_FAILED');
    }
  });

  it('ASVS 5.0 V1.3.12: strings are length-capped before any pattern runs — 60 KB values are refused by the length rule (no ReDoS)', async () => {
    const evil = [
      { path: '/api/auth/register', body: { email: `a@${'.'.repeat(60000)} `, password: TEST_PASSWORD } },
      { path: '/api/auth/forgot-password', body: { email: `a@${'a.'.repeat(30000)}@` } },
      { path: '/api/auth/register', body: { email: 'ok@example.com', password: TEST_PASSWORD, username: `a${'-'.repeat(60000)}!` } },
      { path: '/api/auth/verify-email', body: { email: `${'a'.repeat(60000)}@x`, token: 'x'.repeat(600) } },
    ];
    for (const { path, body } of evil) {
      const r = await s.request<Json>('POST', path, body);
      expectProblem(r, 422, 'VALIDATION_FAILED');
      // The length rule answered, not a pattern: patterns only ever see capped strings.
      const messages = (r.body.errors as { message: string }[]).map((e) => e.message).join(' | ');
      expect([path, messages]).toEqual([path, expect.stringMatching(/at most/)]);
    }
  });

  it('ASVS 5.0 V2.2.1: a field of the wrong JSON type (array or object for a string) is a 422 naming it, never a 500', async () => {
    const r = await s.request<Json>('POST', '/api/auth/register', { email: ['a@example.com'], password: { x: 1 }, firstName: 'ok' });
    expectProblem(r, 422, 'VALIDATION_FAILED');
    expect((r.body.errors as { path: string }[]).map((e) => e.path).sort()).toEqual(['email', 'password']);
    const login = await s.request<Json>('POST', '/api/auth/login', { login: { $gt: '' }, password: 'x' });
    expectProblem(login, 422, 'VALIDATION_FAILED');
  });

  it('RFC 9110 15.5.6 / ASVS 5.0 V4: a wrong method is a 405 problem with an Allow header', async () => {
    const r = await s.request('GET', '/api/auth/login');
    expectProblem(r, 405, 'METHOD_NOT_ALLOWED');
    expect(r.headers.get('allow')).toBe('POST');
    const put = await s.request('DELETE', '/api/profile/password', undefined, bearer(user.accessToken));
    expectProblem(put, 405, 'METHOD_NOT_ALLOWED');
    expect(put.headers.get('allow')).toMatch(/PUT/);
  });

  it('ASVS 5.0 V2.2.1 / V1.2.4: ids are validated before they reach SQL — anything but a UUID is a 404', async () => {
    for (const id of ["1' OR '1'='1", '1;DROP TABLE users', '../../etc/passwd', '%00', '1 UNION SELECT password_hash FROM users']) {
      const enc = encodeURIComponent(id);
      expectProblem(await s.request('GET', `/api/users/${enc}`, undefined, bearer(admin.accessToken)), 404, 'NOT_FOUND');
      expectProblem(await s.request('DELETE', `/api/auth/sessions/${enc}`, undefined, bearer(user.accessToken)), 404, 'NOT_FOUND');
    }
    expect((await s.system.knex('users').count<{ count: string }[]>({ count: '*' }))[0].count).not.toBe('0');
  });

  it('ASVS 5.0 V2.2.1 / V15.3.3: sorting and filtering are allow-listed — an undocumented column is a 422', async () => {
    for (const q of [
      'sort=password_hash',
      'sort=-passwordHash',
      'sort=email;DROP TABLE users',
      'sort=(SELECT 1)',
      'sort=at,password_hash',
    ]) {
      const users = await s.request('GET', `/api/users?${q}`, undefined, bearer(admin.accessToken));
      expect([q, users.status]).toEqual([q, 422]);
      const history = await s.request('GET', `/api/profile/history?${q}`, undefined, bearer(user.accessToken));
      expect([q, history.status]).toEqual([q, 422]);
    }
    // Unknown filters are ignored, not passed to the query.
    const ignored = await s.request<{ data: Json[] }>(
      'GET',
      '/api/users?password_hash=x&isAdmin=true&__proto__[x]=1',
      undefined,
      bearer(admin.accessToken),
    );
    expect(ignored.status).toBe(200);
    expect(ignored.body.data.length).toBeGreaterThan(0);
    expect(JSON.stringify(ignored.body)).not.toMatch(/\$2[aby]\$|password/i);
  });
});
