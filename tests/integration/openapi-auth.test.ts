import { createAdmin } from '../../src/commands/user/admin-bootstrap';
import { HTTP_METHODS, Operation } from '../../src/http/openapi/types';
import { buildOpenApiDocument } from '../../src/http/routes';
import { login, signUpVerified } from '../helpers/flows';
import { bearer, startStack, TestStack, TEST_PASSWORD } from '../helpers/stack';

type Json = Record<string, unknown>;

/** Every operation of the document, with a concrete path to call (ids that exist nowhere). */
const operations = (): { method: string; path: string; url: string; op: Operation }[] =>
  Object.entries(buildOpenApiDocument().paths).flatMap(([path, item]) =>
    HTTP_METHODS.filter((m) => item[m]).map((m) => ({
      method: m.toUpperCase(),
      path,
      url: path.replace('{id}', '00000000-0000-4000-8000-000000000000').replace('{file}', 'docs.js'),
      op: item[m] as Operation,
    })),
  );

const schemesOf = (op: Operation): string[][] => (op.security ?? []).map((s) => Object.keys(s));
/** A credential is required: every way in names a scheme (no `{}`, which is "none needed"). */
const needsCredentials = (op: Operation): boolean => schemesOf(op).length > 0 && schemesOf(op).every((s) => s.length > 0);
const takesKeys = (op: Operation): boolean => schemesOf(op).some((s) => s.includes('apiKeyAuth'));
/** The roles the document names for an operation (its 403 "Needs the … role"), or null for any role. */
const rolesOf = (op: Operation): string[] | null => {
  const m = /Needs the (.+?) role/.exec(op.responses['403']?.description ?? '');
  return m ? m[1].split(' or ') : null;
};

const bodyFor = (method: string): Json | undefined => (method === 'GET' ? undefined : {});

/** What authenticate() and requireSession() answer a key on a route that takes sessions only. */
const KEY_REFUSED = /^(API keys cannot be used on this route|API keys can only read here|This route needs a signed-in session)$/;
/** What requireRole() answers a role it does not let in. */
const ROLE_REFUSED = /^This needs the .+ role$/;

/**
 * A route declares who may call it where it is registered (src/http/api-router.ts), and the
 * middleware that enforces it is a line of its own beside it. These walk the document, route by
 * route, and check that what it tells a client is what the route does: a route documented for
 * sessions refuses a caller without credentials and a public one does not; a route documented
 * for some roles refuses exactly the other roles; a route documented for sessions only refuses
 * an API key, and one documented for keys takes it.
 */
describe('who may call each route is what the OpenAPI document says', () => {
  let s: TestStack;
  const password = TEST_PASSWORD;

  beforeAll(async () => {
    s = await startStack('openapiauth');
    await createAdmin(s.system.services!.cmd, 'root@example.com', password);
    const admin = await login(s, 'root@example.com');
    await signUpVerified(s, 'viewer@example.com');
    const editor = await signUpVerified(s, 'editor@example.com');
    const promoted = await s.request('PUT', `/api/users/${editor.user.id}/role`, { role: 'editor' }, bearer(admin.accessToken));
    expect(promoted.status).toBe(200);
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('answers 401 without credentials exactly where the document requires them', async () => {
    const checked: string[] = [];
    for (const { method, path, url, op } of operations()) {
      // Refresh, logout and metrics take their credential in the body or as optional: not either kind.
      const required = needsCredentials(op);
      if (!required && schemesOf(op).length > 0) continue;
      const r = await s.request(method, url, bodyFor(method));
      expect([method, path, r.status === 401]).toEqual([method, path, required]);
      checked.push(`${method} ${path}`);
    }
    expect(checked.length).toBeGreaterThan(45);
  });

  it('refuses a role exactly where the document names other roles', async () => {
    const refusals: string[] = [];
    for (const role of ['viewer', 'editor']) {
      for (const { method, path, url, op } of operations()) {
        if (!needsCredentials(op)) continue;
        // A fresh session each time: logout-all ends the one it is called with.
        const who = await login(s, `${role}@example.com`, password);
        const r = await s.request<Json>(method, url, bodyFor(method), bearer(who.accessToken));
        const roles = rolesOf(op);
        const refused = r.status === 403 && ROLE_REFUSED.test(String(r.body.detail));
        expect([role, method, path, refused]).toEqual([role, method, path, roles !== null && !roles.includes(role)]);
        if (refused) refusals.push(`${role} ${method} ${path}`);
      }
    }
    // Both kinds were met: routes for admins only, and content that editors write and viewers do not.
    expect(refusals).toEqual(expect.arrayContaining(['viewer GET /api/users', 'editor GET /api/users', 'viewer POST /api/content']));
    expect(refusals).not.toContain('editor POST /api/content');
  });

  it('refuses an API key exactly where the document takes sessions only', async () => {
    const viewer = await login(s, 'viewer@example.com', password);
    const created = await s.request<Json>(
      'POST',
      '/api/api-keys',
      { name: 'everything', scopes: ['read', 'write'] },
      bearer(viewer.accessToken),
    );
    expect(created.status).toBe(201);
    const key = { 'x-api-key': String(created.body.key) };
    const taken: string[] = [];
    for (const { method, path, url, op } of operations()) {
      if (!needsCredentials(op)) continue;
      const r = await s.request<Json>(method, url, bodyFor(method), key);
      const refused = r.status === 403 && KEY_REFUSED.test(String(r.body.detail));
      expect([method, path, refused]).toEqual([method, path, !takesKeys(op)]);
      if (!refused) taken.push(`${method} ${path}`);
    }
    expect(taken).toEqual(
      expect.arrayContaining(['GET /api/profile', 'GET /api/content', 'PUT /api/content/{id}', 'GET /api/authz/check']),
    );
  });
});
