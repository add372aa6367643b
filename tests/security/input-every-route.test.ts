import { createAdmin } from '../../src/commands/user/admin-bootstrap';
import { buildOpenApiDocument } from '../../src/http/routes';
import { HTTP_METHODS, JsonSchema, Operation } from '../../src/http/openapi/types';
import { login, LoggedIn, signUpVerified } from '../helpers/flows';
import { bearer, startStack, TestStack, TEST_PASSWORD } from '../helpers/stack';

type Json = Record<string, unknown>;

/** Every operation of the OpenAPI document, with what it takes. */
const operations = (): { method: string; path: string; op: Operation }[] => {
  const doc = buildOpenApiDocument();
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    HTTP_METHODS.filter((m) => m !== 'head' && m !== 'options' && item[m]).map((m) => ({
      method: m.toUpperCase(),
      path,
      op: item[m] as Operation,
    })),
  );
};

const typesOf = (s: JsonSchema): string[] => (Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === 'string' ? [s.type] : []);
const bodySchemaOf = (op: Operation): JsonSchema | undefined =>
  op.requestBody?.content['application/json']?.schema as JsonSchema | undefined;
const queryNamesOf = (op: Operation): string[] => (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
/** Pages answer HTML and use their query in the browser only (the form posts it to the API, which checks it). */
const isPage = (op: Operation): boolean =>
  Object.values(op.responses).some((r) => Object.keys(r.content ?? {}).some((t) => t.startsWith('text/html')));

/**
 * Hostile text and hostile keys against every route the OpenAPI document lists (OWASP ASVS 5.0
 * V1.2, V2.2.1, V15.3.6): no input is ever a 500, a bad field is a 422 naming it, and nothing is
 * written (no claim of an email or a name is left behind by a request that failed).
 */
describe('input on every route (OWASP ASVS 5.0 V1.2, V2.2.1, V15.3.6)', () => {
  let s: TestStack;
  let admin: LoggedIn;
  let viewer: LoggedIn;
  const ids: Record<string, string> = {};
  const missing = '00000000-0000-4000-8000-000000000000';

  beforeAll(async () => {
    s = await startStack('everyroute');
    await createAdmin(s.system.services!.cmd, 'root@example.com', TEST_PASSWORD);
    admin = await login(s, 'root@example.com');
    viewer = await signUpVerified(s, 'viewer@example.com', { username: 'viewer' });
    const as = bearer(admin.accessToken);
    const service = await s.request<Json>('POST', '/api/services', { name: 'Fuzzed' }, as);
    const permission = await s.request<Json>('POST', '/api/permissions', { name: 'fuzzed:read', serviceIds: [service.body.id] }, as);
    const content = await s.request<Json>('POST', '/api/content', { title: 'T', body: 'B' }, as);
    const key = await s.request<Json>('POST', '/api/api-keys', { name: 'k' }, as);
    Object.assign(ids, {
      '/api/users': viewer.user.id,
      '/api/services': service.body.id,
      '/api/permissions': permission.body.id,
      '/api/content': content.body.id,
      '/api/api-keys': key.body.id,
      '/api/auth/sessions': admin.sessionId,
    });
  });
  afterAll(async () => {
    await s?.stop();
  });

  const withId = (path: string, id: (prefix: string) => string): string => {
    const prefix = Object.keys(ids).find((p) => path.startsWith(`${p}/`)) ?? '';
    return path.replace('{id}', id(prefix)).replace('{file}', 'docs.js');
  };
  // Session streams are also written by the revoke job (the login above evicted a session), at its own time.
  const WRITTEN_BY_REQUESTS = `stream_id NOT LIKE 'session-%'`;
  const eventCount = async (where = 'true'): Promise<number> =>
    (await s.system.knex.raw(`SELECT count(*)::int AS n FROM es_events WHERE ${where}`)).rows[0].n;

  it('keys named after Object.prototype members (__proto__, constructor, toString, hasOwnProperty, valueOf) in any query or body are never a 500', async () => {
    const keys = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'];
    const query = keys.map((k) => `${k}=x`).join('&');
    // "__proto__" in a body is refused by the parser (400, tests/security/requests.test.ts); the others reach validation.
    const body = Object.fromEntries(keys.filter((k) => k !== '__proto__').map((k) => [k, 'x']));
    const seen: string[] = [];
    for (const { method, path, op } of operations()) {
      // A fresh session each time: logout and logout-all end the one they are called with.
      const who = await login(s, 'root@example.com');
      // Writes go to ids that do not exist, so that no route deletes what a later one reads.
      const url = `${withId(path, (prefix) => (method === 'GET' ? ids[prefix] : missing))}?${query}`;
      const r = await s.request(method, url, method === 'GET' ? undefined : body, bearer(who.accessToken));
      expect([method, path, r.status < 500]).toEqual([method, path, true]);
      seen.push(`${method} ${path}`);
      if (op.requestBody) {
        // The same keys nested where the schema has objects (the profile): data there, and harmless.
        const nested = await s.request(
          method,
          withId(path, () => missing),
          { ...body, profile: body },
          bearer(who.accessToken),
        );
        expect([method, path, nested.status < 500]).toEqual([method, path, true]);
      }
    }
    expect(seen.length).toBeGreaterThan(50);
    // The one that crashed, unauthenticated: now answered on its merits.
    const verify = await s.request('GET', `/api/auth/verify-email?${query}&token=t&email=nobody%40example.com`);
    expect(verify.status).toBe(400);
    expect(verify.body).toMatchObject({ code: 'INVALID_TOKEN' });
    const probe: Record<string, unknown> = {};
    expect(probe.x).toBeUndefined();
  });

  it('NUL and unpaired surrogates in every string field (body and query) are a 422 naming the field, and nothing is written', async () => {
    // The first test's logins have evicted the first admin session (MAX_SESSIONS_PER_USER).
    const root = await login(s, 'root@example.com');
    const eventsBefore = await eventCount(WRITTEN_BY_REQUESTS);
    const claimsBefore = await eventCount(`stream_id LIKE '%Claim-%'`);
    const bad = ['a\u0000b', 'a\ud800b', 'a\udc00b', 'trailing\ud83d'];
    const checked: string[] = [];
    const expect422 = async (method: string, url: string, body: unknown, field: string, headers: Record<string, string>) => {
      const r = await s.request<Json>(method, url, body, headers);
      const paths = ((r.body.errors as { path: string }[] | undefined) ?? []).map((e) => e.path);
      expect([method, url, field, r.status, r.body.code, paths.includes(field)]).toEqual([
        method,
        url,
        field,
        422,
        'VALIDATION_FAILED',
        true,
      ]);
      checked.push(`${method} ${url.split('?')[0]} ${field}`);
    };
    for (const { method, path, op } of operations()) {
      const headers = path.startsWith('/api/profile') ? bearer(viewer.accessToken) : bearer(root.accessToken);
      const url = withId(path, (prefix) => ids[prefix] ?? missing);
      for (const name of queryNamesOf(op)) {
        // A query arrives percent-encoded: NUL can (%00); an unpaired surrogate cannot (invalid UTF-8 decodes to U+FFFD).
        const q = `${url}?${name}=a%00b`;
        if (isPage(op)) expect((await s.request('GET', q, undefined, headers)).status).toBe(200);
        else await expect422(method, q, undefined, name, headers);
      }
      const schema = bodySchemaOf(op);
      for (const [name, field] of Object.entries((schema?.properties ?? {}) as Record<string, JsonSchema>)) {
        const types = typesOf(field);
        for (const value of bad) {
          if (types.includes('string')) await expect422(method, url, { [name]: value }, name, headers);
          if (types.includes('array')) await expect422(method, url, { [name]: ['ok', value] }, `${name}[1]`, headers);
          if (types.includes('object')) {
            await expect422(method, url, { [name]: { bio: value } }, `${name}.bio`, headers);
            await expect422(method, url, { [name]: { nested: [{ deep: value }] } }, `${name}.nested[0].deep`, headers);
            const key = await s.request<Json>(method, url, { [name]: { [value]: 1 } }, headers);
            expect([method, path, key.status, JSON.stringify(key.body.errors)]).toEqual([
              method,
              path,
              422,
              expect.stringMatching(/a key with a character that cannot be stored/),
            ]);
          }
        }
      }
    }
    // The sign-up of the report: a bad name, alongside an email that then stays free.
    await expect422(
      'POST',
      '/api/auth/register',
      { email: 'victim@example.com', password: TEST_PASSWORD, firstName: 'x\u0000' },
      'firstName',
      {},
    );
    expect(checked.length).toBeGreaterThan(150);
    expect(await eventCount(`stream_id LIKE '%Claim-%'`)).toBe(claimsBefore);
    expect(await eventCount(WRITTEN_BY_REQUESTS)).toBe(eventsBefore);
    // The address is free: its owner signs up for real.
    await signUpVerified(s, 'victim@example.com');
  });
});
