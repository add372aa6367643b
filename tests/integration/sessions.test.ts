import { eventually } from '../helpers/eventually';
import { bearer, HttpResult, startStack, TestStack, TEST_PASSWORD } from '../helpers/stack';
import { cookieHeader, cookiesOf, login, signUpVerified } from '../helpers/flows';

type Json = Record<string, unknown>;

/** RFC 6749 5.1 / RFC 9700: an answer that carries tokens (or a key) must never be stored by a cache. */
const expectUncacheable = (r: HttpResult, what: string): void => {
  expect([what, r.headers.get('cache-control'), r.headers.get('pragma')]).toEqual([what, 'no-store', 'no-cache']);
};

describe('sessions and tokens', () => {
  let s: TestStack;
  beforeAll(async () => {
    s = await startStack('sessions');
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('register → verify → login → refresh → me → logout, then both tokens are dead', async () => {
    const first = await signUpVerified(s, 'flow@example.com', { firstName: 'Flo' });
    expect(first).toMatchObject({ tokenType: 'Bearer', expiresIn: 900, user: { email: 'flow@example.com', emailVerified: true } });

    const refreshed = await s.request<Json>('POST', '/api/auth/token', { refreshToken: first.refreshToken });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refreshToken).not.toBe(first.refreshToken);
    expect(refreshed.body.sessionId).toBe(first.sessionId);

    const me = await s.request<Json>('GET', '/api/auth/me', undefined, bearer(refreshed.body.accessToken as string));
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ user: { email: 'flow@example.com', firstName: 'Flo' }, session: { id: first.sessionId } });

    const out = await s.request('POST', '/api/auth/logout', { refreshToken: refreshed.body.refreshToken });
    expect(out.status).toBe(200);
    expect((await s.request('GET', '/api/auth/me', undefined, bearer(refreshed.body.accessToken as string))).status).toBe(401);
    expect((await s.request('GET', '/api/auth/me', undefined, bearer(first.accessToken))).status).toBe(401);
    expect((await s.request('POST', '/api/auth/refresh', { refreshToken: refreshed.body.refreshToken })).status).toBe(401);
  });

  it('works with the httpOnly cookies alone', async () => {
    await signUpVerified(s, 'cookie@example.com');
    const r = await s.request('POST', '/api/auth/login', { login: 'cookie@example.com', password: TEST_PASSWORD });
    const setCookies = r.headers.getSetCookie();
    expect(setCookies.find((c) => c.startsWith('access_token='))).toMatch(/httponly/i);
    expect(setCookies.find((c) => c.startsWith('refresh_token='))).toMatch(/httponly/i);
    const jar = cookiesOf(r.headers);

    expect((await s.request('GET', '/api/auth/me', undefined, cookieHeader(jar))).status).toBe(200);
    // A browser sends its Origin with every POST; cookie-authenticated changes need ours (CSRF guard).
    const sameOrigin = { origin: 'https://id.example.test' };
    const refreshed = await s.request('POST', '/api/auth/refresh', undefined, { ...cookieHeader(jar), ...sameOrigin });
    expect(refreshed.status).toBe(200);
    const jar2 = cookiesOf(refreshed.headers);
    expect(jar2.refresh_token).not.toBe(jar.refresh_token);
    const out = await s.request('POST', '/api/auth/logout', undefined, { ...cookieHeader(jar2), ...sameOrigin });
    expect(out.status).toBe(200);
    expect((await s.request('GET', '/api/auth/me', undefined, cookieHeader(jar2))).status).toBe(401);
  });

  it('lets exactly one of 10 parallel refreshes with one token win, leaving one live branch', async () => {
    const a = await signUpVerified(s, 'parallel@example.com');
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => s.request<Json>('POST', '/api/auth/token', { refreshToken: a.refreshToken })),
    );
    const winners = answers.filter((x) => x.status === 200);
    expect(winners).toHaveLength(1);
    for (const loser of answers.filter((x) => x.status !== 200)) {
      expect(loser.status).toBe(401);
      expect(loser.body.code).toBe('REFRESH_TOKEN_ROTATED');
    }
    // The winner's branch lives on; the spent token gives nothing.
    const next = await s.request<Json>('POST', '/api/auth/token', { refreshToken: winners[0].body.refreshToken });
    expect(next.status).toBe(200);
    const sessions = await s.request<{ data: Json[] }>('GET', '/api/auth/sessions', undefined, bearer(next.body.accessToken as string));
    expect(sessions.body.data.filter((x) => x.id === a.sessionId)).toHaveLength(1);
    expect(sessions.body.data.find((x) => x.id === a.sessionId)).toMatchObject({ current: true, refreshCount: 2 });
  });

  it('a refresh token two rotations old, back within a second, ends the session and its newest tokens at once', async () => {
    const rt1 = await signUpVerified(s, 'replayed@example.com');
    const rt2 = await s.request<Json>('POST', '/api/auth/token', { refreshToken: rt1.refreshToken });
    const rt3 = await s.request<Json>('POST', '/api/auth/token', { refreshToken: rt2.body.refreshToken });
    expect([rt2.status, rt3.status]).toEqual([200, 200]);
    // Well inside the grace window, but RT1 is not the predecessor of the current token: a replay.
    const replayed = await s.request<Json>('POST', '/api/auth/token', { refreshToken: rt1.refreshToken });
    expect(replayed.status).toBe(401);
    expect(replayed.body).toMatchObject({ code: 'SESSION_REVOKED', detail: expect.stringMatching(/reuse/i) });
    expect((await s.request('POST', '/api/auth/token', { refreshToken: rt3.body.refreshToken })).status).toBe(401);
    expect((await s.request('GET', '/api/auth/me', undefined, bearer(rt3.body.accessToken as string))).status).toBe(401);
  });

  it('the direct predecessor of the current refresh token, within the grace window, is refused and the session lives on', async () => {
    const rt1 = await signUpVerified(s, 'twotabs@example.com');
    const rt2 = await s.request<Json>('POST', '/api/auth/token', { refreshToken: rt1.refreshToken });
    expect(rt2.status).toBe(200);
    const late = await s.request<Json>('POST', '/api/auth/token', { refreshToken: rt1.refreshToken });
    expect(late.status).toBe(401);
    expect(late.body.code).toBe('REFRESH_TOKEN_ROTATED');
    expect((await s.request('GET', '/api/auth/me', undefined, bearer(rt2.body.accessToken as string))).status).toBe(200);
    expect((await s.request('POST', '/api/auth/token', { refreshToken: rt2.body.refreshToken })).status).toBe(200);
  });

  it('every answer that carries tokens or a key says Cache-Control: no-store and Pragma: no-cache', async () => {
    await signUpVerified(s, 'nostore@example.com');
    const signedIn = await s.request<Json>('POST', '/api/auth/login', { email: 'nostore@example.com', password: TEST_PASSWORD });
    expect(signedIn.status).toBe(200);
    expectUncacheable(signedIn, 'login');
    const viaToken = await s.request<Json>('POST', '/api/auth/token', { refreshToken: signedIn.body.refreshToken });
    expect(viaToken.status).toBe(200);
    expectUncacheable(viaToken, 'token');
    const viaRefresh = await s.request<Json>('POST', '/api/auth/refresh', { refreshToken: viaToken.body.refreshToken });
    expect(viaRefresh.status).toBe(200);
    expectUncacheable(viaRefresh, 'refresh');
    const auth = bearer(viaRefresh.body.accessToken as string);
    const changed = await s.request<Json>(
      'PUT',
      '/api/profile/password',
      { currentPassword: TEST_PASSWORD, newPassword: 'a whole new passphrase' },
      auth,
    );
    expect(changed.status).toBe(200);
    expectUncacheable(changed, 'password change');
    const key = await s.request<Json>('POST', '/api/api-keys', { name: 'ci' }, bearer(changed.body.accessToken as string));
    expect(key.status).toBe(201);
    expectUncacheable(key, 'new API key');
    // An answer without credentials is not marked.
    expect(
      (await s.request('GET', '/api/auth/me', undefined, bearer(changed.body.accessToken as string))).headers.get('pragma'),
    ).toBeNull();
  });

  it('ends the oldest session at the sixth login', async () => {
    // Signing up logged in once: with four more logins there are five sessions.
    const logins = [await signUpVerified(s, 'six@example.com')];
    for (let i = 1; i < 5; i++) logins.push(await login(s, 'six@example.com', TEST_PASSWORD, `device-${i}`));
    const list = await s.request<{ data: Json[] }>('GET', '/api/auth/sessions', undefined, bearer(logins[4].accessToken));
    expect(list.body.data).toHaveLength(5);
    expect(list.body.data.map((x) => x.deviceId)).not.toContain(undefined);
    const sixth = await login(s, 'six@example.com', TEST_PASSWORD, 'device-5');
    const after = await s.request<{ data: Json[] }>('GET', '/api/auth/sessions', undefined, bearer(sixth.accessToken));
    expect(after.body.data).toHaveLength(5);
    expect(after.body.data.map((x) => x.id)).not.toContain(logins[0].sessionId);
    expect((await s.request('GET', '/api/auth/me', undefined, bearer(logins[0].accessToken))).status).toBe(401);
    expect((await s.request('POST', '/api/auth/token', { refreshToken: logins[0].refreshToken })).status).toBe(401);
    expect((await s.request('GET', '/api/auth/me', undefined, bearer(logins[1].accessToken))).status).toBe(200);
  });

  it('lists, ends one, and ends all sessions; another user’s session id is 404', async () => {
    const a = await signUpVerified(s, 'many@example.com');
    const b = await login(s, 'many@example.com', TEST_PASSWORD, 'laptop');
    const other = await signUpVerified(s, 'other@example.com');
    expect((await s.request('DELETE', `/api/auth/sessions/${other.sessionId}`, undefined, bearer(a.accessToken))).status).toBe(404);
    expect((await s.request('DELETE', '/api/auth/sessions/not-a-uuid', undefined, bearer(a.accessToken))).status).toBe(404);

    const del = await s.request('DELETE', `/api/auth/sessions/${b.sessionId}`, undefined, bearer(a.accessToken));
    expect(del.status).toBe(204);
    expect((await s.request('GET', '/api/auth/me', undefined, bearer(b.accessToken))).status).toBe(401);
    const list = await s.request<{ data: Json[] }>('GET', '/api/auth/sessions', undefined, bearer(a.accessToken));
    expect(list.body.data.map((x) => x.id)).toEqual([a.sessionId]);

    const c = await login(s, 'many@example.com', TEST_PASSWORD, 'phone');
    const all = await s.request('POST', '/api/auth/logout-all', undefined, bearer(c.accessToken));
    expect(all.status).toBe(200);
    for (const t of [a, c]) {
      expect((await s.request('GET', '/api/auth/me', undefined, bearer(t.accessToken))).status).toBe(401);
      expect((await s.request('POST', '/api/auth/token', { refreshToken: t.refreshToken })).status).toBe(401);
    }
    expect((await s.request('GET', '/api/auth/me', undefined, bearer(other.accessToken))).status).toBe(200);
  });

  it('answers an unknown email and a wrong password alike', async () => {
    await signUpVerified(s, 'alike@example.com');
    const unknown = await s.request('POST', '/api/auth/login', { email: 'ghost@example.com', password: TEST_PASSWORD });
    const wrong = await s.request('POST', '/api/auth/login', { email: 'alike@example.com', password: 'not the password' });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
    expect(unknown.body).toMatchObject({ code: 'INVALID_CREDENTIALS' });
  });

  it('signs in by username as well as by email', async () => {
    await signUpVerified(s, 'uname@example.com', { username: 'Uname_1' });
    expect((await s.request('POST', '/api/auth/login', { username: 'uname_1', password: TEST_PASSWORD })).status).toBe(200);
    expect((await s.request('POST', '/api/auth/login', { login: 'UNAME_1', password: TEST_PASSWORD })).status).toBe(200);
  });
});

describe('refresh token reuse detection (grace window 0 s)', () => {
  let s: TestStack;
  beforeAll(async () => {
    s = await startStack('reuse', { REFRESH_GRACE_SECONDS: '0', REQUIRE_EMAIL_VERIFICATION: 'false' });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('a sign-up that signs in at once says Cache-Control: no-store and Pragma: no-cache', async () => {
    const r = await s.request<Json>('POST', '/api/auth/register', { email: 'instant@example.com', password: TEST_PASSWORD });
    expect(r.status).toBe(201);
    expect(typeof r.body.accessToken).toBe('string');
    expectUncacheable(r, 'register');
  });

  it('kills the session and its successor when a spent refresh token comes back', async () => {
    const a = await signUpVerified(s, 'reuse@example.com');
    const b = await s.request<Json>('POST', '/api/auth/token', { refreshToken: a.refreshToken });
    expect(b.status).toBe(200);
    const replayed = await s.request<Json>('POST', '/api/auth/token', { refreshToken: a.refreshToken });
    expect(replayed.status).toBe(401);
    expect(replayed.body.detail).toMatch(/reuse/i);
    expect((await s.request('POST', '/api/auth/token', { refreshToken: b.body.refreshToken })).status).toBe(401);
    expect((await s.request('GET', '/api/auth/me', undefined, bearer(b.body.accessToken as string))).status).toBe(401);
    // A 401 carries no position to wait for, so the listing catches up on its own.
    const reason = await eventually(
      async () => (await s.system.knex('sessions').where({ id: a.sessionId }).first())?.revoke_reason ?? undefined,
      10000,
      'the session row to show the revocation',
    );
    expect(reason).toBe('reuse-detected');
  });
});
