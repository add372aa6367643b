import { handle } from '../../src/commands/handle';
import { setUserPermissions } from '../../src/commands/permission/grants';
import { createAdmin } from '../../src/commands/user/admin-bootstrap';
import { Role, userStream } from '../../src/events/user';
import { userDecider } from '../../src/commands/user/decider';
import { eventually } from '../helpers/eventually';
import { login, LoggedIn, signUpVerified } from '../helpers/flows';
import { bearer, HttpResult, startStack, TestStack, TEST_PASSWORD } from '../helpers/stack';

type Json = Record<string, unknown>;
interface Page<T = Json> {
  data: T[];
  meta: { page: number; limit: number; total: number; totalPages: number };
}

const ADMIN_EMAIL = 'root@example.com';
const ADMIN_PASSWORD = 'an admin passphrase 1';

const apiKey = (key: string): Record<string, string> => ({ 'x-api-key': key });

describe('content, API keys and audit', () => {
  let s: TestStack;
  let admin: LoggedIn;
  let editor: LoggedIn;
  let rival: LoggedIn;
  let viewer: LoggedIn;

  /** Changes a role straight on the user's stream, as an admin would, and waits for the read side. */
  const setRole = async (userId: string, role: Role): Promise<void> => {
    const r = await handle(
      s.system.store,
      userStream(userId),
      userDecider,
      { type: 'ChangeRole', role, now: new Date().toISOString() },
      { actorId: admin.user.id },
    );
    await s.system.services!.waiter.whenProcessed(r.position, 5000);
  };

  /** A verified user with a role; signed in again after the change (a role change ends sessions). */
  const userWithRole = async (email: string, role: Role): Promise<LoggedIn> => {
    const u = await signUpVerified(s, email);
    if (role === 'viewer') return u;
    await setRole(u.user.id, role);
    return login(s, email);
  };

  const post = (path: string, body: unknown, who: LoggedIn) => s.request<Json>('POST', path, body, bearer(who.accessToken));
  const get = <T = Json>(path: string, who: LoggedIn) => s.request<T>('GET', path, undefined, bearer(who.accessToken));
  const newContent = async (who: LoggedIn, title: string, body = 'Some body text'): Promise<Json> => {
    const r = await post('/api/content', { title, body }, who);
    expect(r.status).toBe(201);
    return r.body;
  };

  beforeAll(async () => {
    s = await startStack('contentkeys');
    await createAdmin(s.system.services!.cmd, ADMIN_EMAIL, ADMIN_PASSWORD);
    admin = await login(s, ADMIN_EMAIL, ADMIN_PASSWORD);
    [editor, rival, viewer] = await Promise.all([
      userWithRole('editor@example.com', 'editor'),
      userWithRole('rival@example.com', 'editor'),
      userWithRole('viewer@example.com', 'viewer'),
    ]);
  });
  afterAll(async () => {
    await s?.stop();
  });

  describe('content', () => {
    it('admins and editors create (201, as author); viewers are refused; anonymous is 401', async () => {
      const mine = await newContent(editor, 'Editor post', 'Hello from the editor');
      expect(mine).toMatchObject({
        title: 'Editor post',
        body: 'Hello from the editor',
        authorId: editor.user.id,
        author: { id: editor.user.id, email: 'editor@example.com' },
        isDeleted: false,
      });
      expect(mine.createdBy).toBe(editor.user.id);
      expect((await newContent(admin, 'Admin post')).authorId).toBe(admin.user.id);

      const refused = await post('/api/content', { title: 'Nope', body: 'Nope' }, viewer);
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('FORBIDDEN');
      expect((await s.request('GET', '/api/content')).status).toBe(401);
      expect((await s.request('POST', '/api/content', { title: 'x', body: 'y' })).status).toBe(401);
    });

    it('validates title (1–200) and body (1–50,000), listing every failing field', async () => {
      const bad = await post('/api/content', { title: '   ', body: 'b'.repeat(50_001) }, editor);
      expect(bad.status).toBe(422);
      expect((bad.body.errors as { path: string }[]).map((e) => e.path).sort()).toEqual(['body', 'title']);
      expect((await post('/api/content', { title: 't'.repeat(201), body: 'ok' }, editor)).status).toBe(422);
      expect((await post('/api/content', { title: 'ok' }, editor)).status).toBe(422);
      expect((await post('/api/content', { title: 't'.repeat(200), body: 'b'.repeat(50_000) }, editor)).status).toBe(201);
    });

    it('an editor edits and deletes only their own; an admin edits any; viewers read only', async () => {
      const c = await newContent(editor, 'Owned by editor');
      const path = `/api/content/${c.id}`;

      for (const who of [rival, viewer]) {
        expect((await s.request('PUT', path, { title: 'Hijacked' }, bearer(who.accessToken))).status).toBe(403);
        expect((await s.request('DELETE', path, undefined, bearer(who.accessToken))).status).toBe(403);
      }

      const own = await s.request<Json>('PUT', path, { title: 'Edited by owner' }, bearer(editor.accessToken));
      expect(own.status).toBe(200);
      expect(own.body).toMatchObject({ title: 'Edited by owner', body: 'Some body text', updatedBy: editor.user.id });

      const byAdmin = await s.request<Json>('PUT', path, { body: 'Moderated' }, bearer(admin.accessToken));
      expect(byAdmin.status).toBe(200);
      expect(byAdmin.body).toMatchObject({
        title: 'Edited by owner',
        body: 'Moderated',
        authorId: editor.user.id,
        updatedBy: admin.user.id,
      });

      const read = await get(path, viewer);
      expect(read.status).toBe(200);
      expect(read.body.body).toBe('Moderated');
      expect((await s.request('PUT', path, {}, bearer(editor.accessToken))).status).toBe(422);
      expect((await get('/api/content/not-a-uuid', viewer)).status).toBe(404);
      expect((await get('/api/content/00000000-0000-4000-8000-000000000000', viewer)).status).toBe(404);
    });

    it('soft delete hides the piece from list and get; it cannot be edited or deleted again', async () => {
      const c = await newContent(rival, 'Soon gone zq9');
      const path = `/api/content/${c.id}`;
      expect((await s.request('DELETE', path, undefined, bearer(rival.accessToken))).status).toBe(204);
      expect((await get(path, viewer)).status).toBe(404);
      const listed = await get<Page>('/api/content?q=zq9', viewer);
      expect(listed.body.data).toEqual([]);
      expect((await s.request('PUT', path, { title: 'Back?' }, bearer(admin.accessToken))).status).toBe(404);
      expect((await s.request('DELETE', path, undefined, bearer(admin.accessToken))).status).toBe(404);

      const adminDeletes = await newContent(editor, 'Admin removes this');
      expect((await s.request('DELETE', `/api/content/${adminDeletes.id}`, undefined, bearer(admin.accessToken))).status).toBe(204);
    });

    it('lists with paging, sorting and filters; undocumented sort or bad params are 422', async () => {
      const author = await userWithRole('lister@example.com', 'editor');
      for (const t of ['Banana LIST', 'apple LIST', 'Cherry LIST', '100% LIST']) await newContent(author, t);
      const q = `authorId=${author.user.id}`;

      const page2 = await get<Page>(`/api/content?${q}&sort=title&limit=2&page=2`, viewer);
      expect(page2.status).toBe(200);
      expect(page2.body.meta).toEqual({ page: 2, limit: 2, total: 4, totalPages: 2 });
      const byTitle = await get<Page>(`/api/content?${q}&sort=title`, viewer);
      const titles = byTitle.body.data.map((c) => c.title as string);
      expect(titles.length).toBe(4);
      expect(page2.body.data.map((c) => c.title)).toEqual(titles.slice(2));
      // The order is the database collation's; descending is its exact reverse.
      expect((await get<Page>(`/api/content?${q}&sort=-title`, viewer)).body.data.map((c) => c.title)).toEqual([...titles].reverse());

      const desc = await get<Page>(`/api/content?${q}&sort=-createdAt`, viewer);
      expect(desc.body.data.map((c) => c.title)).toEqual(['100% LIST', 'Cherry LIST', 'apple LIST', 'Banana LIST']);
      const asc = await get<Page>(`/api/content?${q}&sort=createdAt`, viewer);
      expect(asc.body.data.map((c) => c.title)).toEqual(['Banana LIST', 'apple LIST', 'Cherry LIST', '100% LIST']);

      expect((await get<Page>('/api/content?q=cherry%20list', viewer)).body.data.map((c) => c.title)).toEqual(['Cherry LIST']);
      // A % in the search is a literal character, not a wildcard.
      expect((await get<Page>('/api/content?q=0%25', viewer)).body.data.map((c) => c.title)).toEqual(['100% LIST']);
      expect((await get<Page>(`/api/content?${q}&q=list&sort=updatedAt`, viewer)).body.meta.total).toBe(4);

      for (const bad of ['sort=body', 'sort=-authorId', 'limit=101', 'page=0', 'authorId=nope']) {
        const r = await get(`/api/content?${bad}`, viewer);
        expect(r.status).toBe(422);
        expect(r.body.code).toBe('VALIDATION_FAILED');
      }
    });
  });

  describe('API keys', () => {
    it('shows the key once; lists never carry the key or its hash; with the write scope, acts as its owner on content', async () => {
      const r = await createKey(editor, { name: 'deploy bot', scopes: ['write'] });
      expect(r.status).toBe(201);
      const key = r.body.key as string;
      expect(key).toMatch(/^iam_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$/);
      expect(r.body).toMatchObject({
        name: 'deploy bot',
        permissionIds: [],
        scopes: ['read', 'write'],
        expiresAt: null,
        prefix: key.slice(0, 12),
      });
      expect(typeof r.body.createdAt).toBe('string');

      const list = await get<Page>('/api/api-keys', editor);
      expect(list.status).toBe(200);
      expect(list.body.data).toEqual([
        expect.objectContaining({ id: r.body.id, name: 'deploy bot', prefix: r.body.prefix, scopes: ['read', 'write'] }),
      ]);
      const listed = JSON.stringify(list.body);
      expect(listed).not.toContain(key);
      expect(listed).not.toContain(key.slice(-43));
      expect(listed).not.toMatch(/hash/i);
      // Someone else's list does not show it.
      expect((await get<Page>('/api/api-keys', rival)).body.data).toEqual([]);

      expect((await s.request('GET', '/api/content', undefined, apiKey(key))).status).toBe(200);
      const made = await s.request<Json>('POST', '/api/content', { title: 'Via key', body: 'Posted by a bot' }, apiKey(key));
      expect(made.status).toBe(201);
      expect(made.body).toMatchObject({ authorId: editor.user.id, createdBy: editor.user.id });
      // Its owner is an editor: someone else's content is still off limits.
      const others = await newContent(rival, 'Rival content');
      expect((await s.request('PUT', `/api/content/${others.id}`, { title: 'x' }, apiKey(key))).status).toBe(403);
      expect((await s.request('PUT', `/api/content/${made.body.id}`, { title: 'Edited via key' }, apiKey(key))).status).toBe(200);

      // The audit trail says which key wrote it.
      const audit = await get<Page>(`/api/audit?type=ContentCreated&actorId=${editor.user.id}&limit=100`, admin);
      expect(audit.body.data.find((e) => (e.stream as string) === `content-${made.body.id}`)).toMatchObject({
        apiKeyId: r.body.id,
        actor: { id: editor.user.id },
      });
    });

    it('by default only reads: a key with no scopes and no permissions cannot write, whatever its owner’s role', async () => {
      const created = await createKey(editor, { name: 'reader bot', permissionIds: [] });
      expect(created.status).toBe(201);
      expect(created.body.scopes).toEqual(['read']);
      const h = apiKey(created.body.key as string);
      expect((await s.request('GET', '/api/content', undefined, h)).status).toBe(200);
      const mine = await newContent(editor, 'Not for bots');
      for (const [method, path, body] of [
        ['POST', '/api/content', { title: 'Via key', body: 'Posted by a bot' }],
        ['PUT', `/api/content/${mine.id as string}`, { title: 'Edited by a bot' }],
        ['DELETE', `/api/content/${mine.id as string}`],
      ] as const) {
        const r = await s.request<Json>(method, path, body, h);
        expect([method, r.status, r.body.code]).toEqual([method, 403, 'FORBIDDEN']);
        expect(r.body.detail).toMatch(/write scope/);
      }
      // Nothing was written.
      expect((await get<Json>(`/api/content/${mine.id as string}`, editor)).body).toMatchObject({
        title: 'Not for bots',
        isDeleted: false,
      });
    });

    it('reads its owner’s account: GET /api/profile and /api/profile/history answer as the owner', async () => {
      const owner = await signUpVerified(s, 'keyreader@example.com', { firstName: 'Kay' });
      expect((await s.request('PATCH', '/api/profile', { lastName: 'Reader' }, bearer(owner.accessToken))).status).toBe(200);
      const h = apiKey((await createKey(owner, { name: 'profile reader' })).body.key as string);
      const profile = await s.request<Json>('GET', '/api/profile', undefined, h);
      expect(profile.status).toBe(200);
      expect(profile.body).toMatchObject({ id: owner.user.id, email: 'keyreader@example.com', firstName: 'Kay', lastName: 'Reader' });
      const history = await s.request<Page>('GET', '/api/profile/history?field=lastName', undefined, h);
      expect(history.status).toBe(200);
      expect(history.body.data).toEqual([
        expect.objectContaining({ field: 'lastName', newValue: 'Reader', actor: expect.objectContaining({ id: owner.user.id }) }),
      ]);
    });

    it('can never manage keys, sessions, passwords or the profile (403), even with the write scope', async () => {
      const key = (await createKey(admin, { name: 'admin key', scopes: ['read', 'write'] })).body.key as string;
      const h = apiKey(key);
      const attempts: [string, string, unknown?][] = [
        ['GET', '/api/api-keys'],
        ['POST', '/api/api-keys', { name: 'child' }],
        ['DELETE', '/api/api-keys/00000000-0000-4000-8000-000000000000'],
        ['GET', '/api/auth/sessions'],
        ['DELETE', `/api/auth/sessions/${admin.sessionId}`],
        ['POST', '/api/auth/logout-all'],
        ['PUT', '/api/profile/password', { currentPassword: ADMIN_PASSWORD, newPassword: 'another passphrase 9' }],
        ['PUT', '/api/profile', { name: 'Bot' }],
        ['PATCH', '/api/profile', { email: 'bot@example.com', currentPassword: ADMIN_PASSWORD }],
        ['DELETE', '/api/profile', { currentPassword: ADMIN_PASSWORD }],
        ['GET', '/api/audit'],
        ['GET', '/api/users'],
        ['PUT', `/api/users/${viewer.user.id}/role`, { role: 'admin' }],
      ];
      for (const [method, path, body] of attempts) {
        const r = await s.request<Json>(method, path, body, h);
        expect([method, path, r.status]).toEqual([method, path, 403]);
        expect(r.body.code).toBe('FORBIDDEN');
      }
      // Nothing happened: the admin still signs in with the old password, under the old name and
      // email; the session lives; no child key exists.
      await login(s, ADMIN_EMAIL, ADMIN_PASSWORD);
      expect((await get<Json>('/api/profile', admin)).body).toMatchObject({ email: ADMIN_EMAIL, isDeleted: false, pendingEmail: null });
      expect((await get<Json>('/api/profile', admin)).body.name).not.toBe('Bot');
      expect((await get<Page>('/api/api-keys', admin)).body.data.map((k) => k.name)).toEqual(['admin key']);
    });

    it('carries only permissions its owner holds, and counts only its own on authz checks', async () => {
      const service = await post('/api/services', { name: 'Key scope test' }, admin);
      expect(service.status).toBe(201);
      const read = await post('/api/permissions', { name: 'keytest:read', serviceIds: [service.body.id] }, admin);
      const write = await post('/api/permissions', { name: 'keytest:write', serviceIds: [service.body.id] }, admin);
      expect([read.status, write.status]).toEqual([201, 201]);
      const granted = await setUserPermissions(s.system.services!.cmd, editor.user.id, [read.body.id as string, write.body.id as string], {
        actorId: admin.user.id,
        correlationId: 'test',
        ip: null,
        userAgent: null,
      });
      await s.system.services!.waiter.whenProcessed(granted, 5000);

      const tooMuch = await createKey(editor, { name: 'too much', permissionIds: [read.body.id, '11111111-1111-4111-8111-111111111111'] });
      expect(tooMuch.status).toBe(422);
      expect(tooMuch.body.errors).toEqual([expect.objectContaining({ path: 'permissionIds[1]' })]);

      const scoped = await createKey(editor, { name: 'read only', permissionIds: [read.body.id] });
      expect(scoped.status).toBe(201);
      expect(scoped.body.permissionIds).toEqual([read.body.id]);
      const bare = (await createKey(editor, { name: 'no permissions' })).body.key as string;

      const check = `/api/authz/check?service=${service.body.id}`;
      expect((await get(check, editor)).body).toEqual({ allowed: true, permissions: ['keytest:read', 'keytest:write'] });
      expect((await s.request('GET', check, undefined, apiKey(scoped.body.key as string))).body).toEqual({
        allowed: true,
        permissions: ['keytest:read'],
      });
      expect((await s.request('GET', check, undefined, apiKey(bare))).body).toEqual({ allowed: false, permissions: [] });
    });

    it('is refused (401) when unknown, malformed or passed in the query string', async () => {
      const key = (await createKey(viewer, { name: 'reader', scopes: ['write'] })).body.key as string;
      expect((await s.request('GET', '/api/content', undefined, apiKey(key))).status).toBe(200);
      expect((await s.request('GET', `/api/content?apiKey=${key}`)).status).toBe(401);
      expect((await s.request('GET', `/api/content?api_key=${key}`)).status).toBe(401);
      const forged = `${key.slice(0, -4)}AAAA`;
      expect((await s.request('GET', '/api/content', undefined, apiKey(forged))).status).toBe(401);
      expect((await s.request('GET', '/api/content', undefined, apiKey('iam_nope'))).status).toBe(401);
      // A viewer's key is a viewer.
      expect((await s.request('POST', '/api/content', { title: 't', body: 'b' }, apiKey(key))).status).toBe(403);
    });

    it('follows the owner: their current role at once, and nothing once deactivated', async () => {
      const owner = await userWithRole('keyowner@example.com', 'viewer');
      const key = (await createKey(owner, { name: 'follows me', scopes: ['read', 'write'] })).body.key as string;
      expect((await s.request('POST', '/api/content', { title: 't', body: 'b' }, apiKey(key))).status).toBe(403);
      await setRole(owner.user.id, 'editor');
      expect((await s.request('POST', '/api/content', { title: 't', body: 'b' }, apiKey(key))).status).toBe(201);

      const again = await login(s, 'keyowner@example.com');
      expect((await s.request('DELETE', '/api/profile', { currentPassword: TEST_PASSWORD }, bearer(again.accessToken))).status).toBe(200);
      expect((await s.request('GET', '/api/content', undefined, apiKey(key))).status).toBe(401);
    });

    it('revocation is immediate (401); another user’s key is 404 to them', async () => {
      const created = await createKey(editor, { name: 'short lived' });
      const key = created.body.key as string;
      const path = `/api/api-keys/${created.body.id}`;
      expect((await s.request('GET', '/api/content', undefined, apiKey(key))).status).toBe(200);

      expect((await s.request('DELETE', path, undefined, bearer(rival.accessToken))).status).toBe(404);
      expect((await s.request('DELETE', '/api/api-keys/not-a-uuid', undefined, bearer(rival.accessToken))).status).toBe(404);
      expect((await s.request('GET', '/api/content', undefined, apiKey(key))).status).toBe(200);

      expect((await s.request('DELETE', path, undefined, bearer(editor.accessToken))).status).toBe(204);
      expect((await s.request('GET', '/api/content', undefined, apiKey(key))).status).toBe(401);
      expect((await get<Page>('/api/api-keys', editor)).body.data.map((k) => k.id)).not.toContain(created.body.id);
    });

    it('expires: refused (401) once expiresAt has passed', async () => {
      // Long enough for the key to be created and used once on a loaded machine (1.5 s was not).
      const expiresAt = new Date(Date.now() + 5000).toISOString();
      const created = await createKey(editor, { name: 'expiring', expiresAt });
      expect(created.status).toBe(201);
      expect(created.body.expiresAt).toBe(expiresAt);
      const key = created.body.key as string;
      expect((await s.request('GET', '/api/content', undefined, apiKey(key))).status).toBe(200);
      await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(expiresAt) - Date.now()) + 100));
      const r = await s.request<Json>('GET', '/api/content', undefined, apiKey(key));
      expect(r.status).toBe(401);
      expect(r.body.code).toBe('UNAUTHENTICATED');
    });

    it('validates name, permissionIds and expiresAt', async () => {
      const bad = await createKey(editor, { name: '', permissionIds: ['nope'], expiresAt: new Date(Date.now() - 1000).toISOString() });
      expect(bad.status).toBe(422);
      expect((bad.body.errors as { path: string }[]).map((e) => e.path).sort()).toEqual(['expiresAt', 'name', 'permissionIds[0]']);
      expect((await createKey(editor, { name: 'n'.repeat(101) })).status).toBe(422);
      expect((await createKey(editor, { name: 'x', expiresAt: 'tomorrow' })).status).toBe(422);
      const badScopes = await createKey(editor, { name: 'x', scopes: ['admin'] });
      expect([badScopes.status, badScopes.body.errors]).toEqual([422, [expect.objectContaining({ path: 'scopes[0]' })]]);
      const noScopes = await createKey(editor, { name: 'x', scopes: [] });
      expect([noScopes.status, noScopes.body.errors]).toEqual([422, [expect.objectContaining({ path: 'scopes' })]]);
      const notHeld = await createKey(editor, { name: 'scoped', permissionIds: ['11111111-1111-4111-8111-111111111111'] });
      expect(notHeld.status).toBe(422);
      expect(notHeld.body.errors).toEqual([expect.objectContaining({ path: 'permissionIds[0]' })]);
      expect((await s.request('POST', '/api/api-keys', { name: 'anon' })).status).toBe(401);
    });
  });

  describe('audit', () => {
    it('shows who changed a user’s role, filtered by user, type, actor and time', async () => {
      const target = await signUpVerified(s, 'audited@example.com');
      await setRole(target.user.id, 'editor');

      const r = await get<Page>(`/api/audit?userId=${target.user.id}&type=RoleChanged`, admin);
      expect(r.status).toBe(200);
      expect(r.body.meta.total).toBe(1);
      const entry = r.body.data[0];
      expect(entry).toMatchObject({
        type: 'RoleChanged',
        stream: `user-${target.user.id}`,
        subjectId: target.user.id,
        actor: { id: admin.user.id, email: ADMIN_EMAIL },
        data: { from: 'viewer', to: 'editor' },
      });
      expect(typeof entry.eventId).toBe('string');

      // Everything about the user, newest first by default: their registration, their login and
      // their session's own stream too.
      const about = await get<Page>(`/api/audit?userId=${target.user.id}&limit=100`, admin);
      const types = about.body.data.map((e) => e.type);
      expect(types).toEqual(expect.arrayContaining(['UserRegistered', 'EmailVerified', 'UserLoggedIn', 'SessionStarted', 'RoleChanged']));
      const ats = about.body.data.map((e) => Date.parse(e.at as string));
      expect(ats).toEqual([...ats].sort((a, b) => b - a));
      const oldestFirst = await get<Page>(`/api/audit?userId=${target.user.id}&sort=at&limit=100`, admin);
      // Sign-up claims the email before the account exists.
      expect(oldestFirst.body.data.slice(0, 2).map((e) => e.type)).toEqual(['ValueClaimed', 'UserRegistered']);
      expect(oldestFirst.body.data[0].stream).toMatch(/^emailClaim-[0-9a-f]{64}$/);
      expect(about.body.data.find((e) => e.type === 'SessionStarted')).toMatchObject({
        stream: `session-${target.sessionId}`,
        subjectId: target.user.id,
        actor: { id: target.user.id },
      });
      // The revoke job then ends the session on its own stream; that event is about the user too.
      const revoked = await eventually(
        async () => {
          const p = await get<Page>(`/api/audit?userId=${target.user.id}&type=SessionRevoked`, admin);
          return p.body.data[0];
        },
        10_000,
        'the session revocation in the audit log',
      );
      expect(revoked).toMatchObject({ stream: `session-${target.sessionId}`, data: { reason: 'role-changed' } });

      const byAdmin = await get<Page>(`/api/audit?actorId=${admin.user.id}&limit=100`, admin);
      expect(byAdmin.body.data.length).toBeGreaterThan(0);
      expect(byAdmin.body.data.every((e) => (e.actor as Json).id === admin.user.id)).toBe(true);
      expect(byAdmin.body.data.map((e) => e.eventId)).toContain(entry.eventId);

      const logins = await get<Page>(`/api/audit?type=UserLoggedIn&userId=${target.user.id}`, admin);
      expect(logins.body.data.map((e) => e.type)).toEqual(['UserLoggedIn']);

      const at = Date.parse(entry.at as string);
      const iso = (ms: number) => encodeURIComponent(new Date(ms).toISOString());
      const window = (from: number, to: number) =>
        get<Page>(`/api/audit?userId=${target.user.id}&type=RoleChanged&from=${iso(from)}&to=${iso(to)}`, admin);
      expect((await window(at, at)).body.meta.total).toBe(1);
      expect((await window(at - 60_000, at + 60_000)).body.meta.total).toBe(1);
      expect((await window(at + 1, at + 60_000)).body.meta.total).toBe(0);
      expect((await window(at - 60_000, at - 1)).body.meta.total).toBe(0);
      expect((await get(`/api/audit?from=${iso(at + 1)}&to=${iso(at)}`, admin)).status).toBe(422);
    });

    it('is for admins only, with documented params only', async () => {
      expect((await get('/api/audit', editor)).status).toBe(403);
      expect((await get('/api/audit', viewer)).status).toBe(403);
      expect((await s.request('GET', '/api/audit')).status).toBe(401);
      for (const bad of ['sort=type', 'userId=nope', 'actorId=1', 'from=yesterday', 'type=Robert%27);DROP', 'limit=0']) {
        expect([bad, (await get(`/api/audit?${bad}`, admin)).status]).toEqual([bad, 422]);
      }
    });

    it('never carries a hash or a key, on any page', async () => {
      const key = (await createKey(admin)).body.key as string;
      const r = await s.request<Json>(
        'PUT',
        '/api/profile/password',
        { currentPassword: ADMIN_PASSWORD, newPassword: 'rotated admin phrase 2' },
        bearer(admin.accessToken),
      );
      expect(r.status).toBe(200);
      admin = { ...admin, accessToken: r.body.accessToken as string };

      const pages: Page[] = [];
      for (let page = 1; ; page++) {
        const p = await get<Page>(`/api/audit?limit=100&page=${page}&sort=at`, admin);
        expect(p.status).toBe(200);
        pages.push(p.body);
        if (page >= p.body.meta.totalPages) break;
      }
      const entries = pages.flatMap((p) => p.data);
      const types = new Set(entries.map((e) => e.type));
      for (const t of [
        'UserRegistered',
        'EmailVerificationRequested',
        'PasswordChanged',
        'SessionStarted',
        'SessionRefreshed',
        'ApiKeyCreated',
        'ApiKeyRevoked',
        'ContentCreated',
        'ContentUpdated',
        'ContentDeleted',
        'ValueClaimed',
        'CatalogueSeeded',
        'ServiceCreated',
        'PermissionCreated',
        'UserPermissionsSet',
      ]) {
        expect(types).toContain(t);
      }
      // A grant is about the user who received it; a key's revocation is about its owner.
      expect(entries.find((e) => e.type === 'UserPermissionsSet')).toMatchObject({
        subjectId: editor.user.id,
        actor: { id: admin.user.id, email: ADMIN_EMAIL },
      });
      const revocations = entries.filter((e) => e.type === 'ApiKeyRevoked');
      expect(revocations.length).toBeGreaterThan(0);
      for (const e of revocations) expect(e.subjectId).toBe((e.actor as Json).id);
      const all = JSON.stringify(pages);
      expect(all).not.toMatch(/Hash"/);
      expect(all).not.toMatch(/"tokenId"/);
      expect(all).not.toContain(key);
      expect(all).not.toContain(key.slice(-43));
    });
  });

  async function createKey(who: LoggedIn, body: Json = { name: 'ci' }): Promise<HttpResult<Json>> {
    return s.request<Json>('POST', '/api/api-keys', body, bearer(who.accessToken));
  }
});
