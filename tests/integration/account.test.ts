import { linkParams } from '../helpers/smtp';
import { bearer, startStack, TestStack, TEST_PASSWORD } from '../helpers/stack';
import { login, signUpVerified } from '../helpers/flows';

type Json = Record<string, unknown>;

const NEW_PASSWORD = 'a whole new passphrase 42';

describe('passwords', () => {
  let s: TestStack;
  beforeAll(async () => {
    s = await startStack('passwords');
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('changes the password: fresh pair for this device, every other session and old access token refused, email sent', async () => {
    const here = await signUpVerified(s, 'change@example.com');
    const there = await login(s, 'change@example.com', TEST_PASSWORD, 'other-device');

    const wrong = await s.request(
      'PUT',
      '/api/profile/password',
      { currentPassword: 'nope nope nope', newPassword: NEW_PASSWORD },
      bearer(here.accessToken),
    );
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ code: 'WRONG_PASSWORD', errors: [{ path: 'currentPassword' }] });

    const r = await s.request<Json>(
      'PUT',
      '/api/profile/password',
      { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD },
      bearer(here.accessToken),
    );
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ sessionId: here.sessionId, tokenType: 'Bearer' });

    // Right away, with no job having to run first:
    expect((await s.request('GET', '/api/auth/me', undefined, bearer(there.accessToken))).status).toBe(401);
    expect((await s.request('POST', '/api/auth/token', { refreshToken: there.refreshToken })).status).toBe(401);
    expect((await s.request('GET', '/api/auth/me', undefined, bearer(here.accessToken))).status).toBe(401);
    expect((await s.request('GET', '/api/auth/me', undefined, bearer(r.body.accessToken as string))).status).toBe(200);
    expect((await s.request('POST', '/api/auth/token', { refreshToken: r.body.refreshToken })).status).toBe(200);

    expect((await s.request('POST', '/api/auth/login', { email: 'change@example.com', password: TEST_PASSWORD })).status).toBe(401);
    expect((await s.request('POST', '/api/auth/login', { email: 'change@example.com', password: NEW_PASSWORD })).status).toBe(200);
    await s.smtp.waitFor('change@example.com', /password was changed/i);

    // The BullMQ job follows through in the event log: the other session's stream is revoked.
    const deadline = Date.now() + 10000;
    let revoked = 0;
    while (Date.now() < deadline && revoked === 0) {
      const q = await s.system.knex.raw(`SELECT count(*)::int AS n FROM es_events WHERE stream_id = ? AND event_type = 'SessionRevoked'`, [
        `session-${there.sessionId}`,
      ]);
      revoked = q.rows[0].n;
      if (!revoked) await new Promise((res) => setTimeout(res, 25));
    }
    expect(revoked).toBe(1);
  });

  it('resets a password once; a newer request voids the older link; every session ends', async () => {
    const a = await signUpVerified(s, 'reset@example.com');
    const ask = await s.request('POST', '/api/auth/forgot-password', { email: 'reset@example.com' });
    const askUnknown = await s.request('POST', '/api/auth/forgot-password', { email: 'nobody@example.com' });
    expect(ask.status).toBe(202);
    expect(askUnknown.status).toBe(202);
    expect(askUnknown.body).toEqual(ask.body);
    const first = linkParams(await s.smtp.waitFor('reset@example.com', /reset/i));
    expect(first.url.startsWith('https://id.example.test/reset-password?')).toBe(true);
    // The link opens the built-in page, which posts to /api/auth/reset-password.
    const page = await s.request('GET', `/reset-password?token=${encodeURIComponent(first.token)}&email=reset%40example.com`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(String(page.body)).toContain('/api/auth/reset-password');

    await s.request('POST', '/api/auth/forgot-password', { email: 'reset@example.com' });
    const deadline = Date.now() + 10000;
    while (s.smtp.to('reset@example.com').filter((m) => /reset/i.test(m.subject)).length < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 25));
    const second = linkParams(s.smtp.to('reset@example.com').filter((m) => /reset/i.test(m.subject))[1]);

    const old = await s.request('POST', '/api/auth/reset-password', {
      token: first.token,
      email: 'reset@example.com',
      password: NEW_PASSWORD,
    });
    expect(old.status).toBe(400);
    expect(old.body.code).toBe('INVALID_TOKEN');

    const ok = await s.request('POST', '/api/auth/reset-password', {
      token: second.token,
      email: 'reset@example.com',
      password: NEW_PASSWORD,
    });
    expect(ok.status).toBe(200);
    expect((await s.request('GET', '/api/auth/me', undefined, bearer(a.accessToken))).status).toBe(401);
    expect((await s.request('POST', '/api/auth/token', { refreshToken: a.refreshToken })).status).toBe(401);

    const twice = await s.request('POST', '/api/auth/reset-password', {
      token: second.token,
      email: 'reset@example.com',
      password: 'yet another passphrase',
    });
    expect(twice.status).toBe(400);
    expect((await s.request('POST', '/api/auth/login', { email: 'reset@example.com', password: NEW_PASSWORD })).status).toBe(200);
  });

  it('voids a reset link when the password is changed meanwhile', async () => {
    const a = await signUpVerified(s, 'voided@example.com');
    await s.request('POST', '/api/auth/forgot-password', { email: 'voided@example.com' });
    const link = linkParams(await s.smtp.waitFor('voided@example.com', /reset/i));
    expect(
      (
        await s.request(
          'PUT',
          '/api/profile/password',
          { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD },
          bearer(a.accessToken),
        )
      ).status,
    ).toBe(200);
    const r = await s.request('POST', '/api/auth/reset-password', {
      token: link.token,
      email: 'voided@example.com',
      password: 'attacker chosen pass',
    });
    expect(r.status).toBe(400);
  });
});

describe('profile', () => {
  let s: TestStack;
  beforeAll(async () => {
    s = await startStack('profile');
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('updates names, username and profile, and lists each change in the history with its actor', async () => {
    const a = await signUpVerified(s, 'prof@example.com', { firstName: 'Pat', username: 'pat' });
    const r = await s.request<Json>(
      'PATCH',
      '/api/profile',
      { firstName: 'Patricia', username: 'patricia', profile: { theme: 'dark' } },
      bearer(a.accessToken),
    );
    expect(r.status).toBe(200);
    expect(r.body.user).toMatchObject({ firstName: 'Patricia', username: 'patricia', profile: { theme: 'dark' } });

    const got = await s.request<Json>('GET', '/api/profile', undefined, bearer(a.accessToken));
    expect(got.body).toMatchObject({ firstName: 'Patricia', username: 'patricia', email: 'prof@example.com' });

    const h = await s.request<{ data: Json[]; meta: Json }>('GET', '/api/profile/history?limit=10', undefined, bearer(a.accessToken));
    expect(h.status).toBe(200);
    const byField = Object.fromEntries(h.body.data.map((x) => [x.field, x]));
    expect(byField.firstName).toMatchObject({
      oldValue: 'Pat',
      newValue: 'Patricia',
      type: 'ProfileUpdated',
      actor: { id: a.user.id, email: 'prof@example.com' },
    });
    expect(byField.username).toMatchObject({ oldValue: 'pat', newValue: 'patricia' });
    expect(byField.profile).toMatchObject({ oldValue: null, newValue: { theme: 'dark' } });
    expect(h.body.meta).toMatchObject({ page: 1, limit: 10 });

    // The old username is free again; the new one is taken.
    const b = await signUpVerified(s, 'prof2@example.com', { username: 'pat' });
    expect(b.user.username).toBe('pat');
    const clash = await s.request('PATCH', '/api/profile', { username: 'PATRICIA' }, bearer(b.accessToken));
    expect(clash.status).toBe(409);
  });

  it('refuses role, emailVerified and the like with 422, changing nothing', async () => {
    const a = await signUpVerified(s, 'sneaky@example.com');
    const r = await s.request('PUT', '/api/profile', { firstName: 'X', role: 'admin', emailVerified: false }, bearer(a.accessToken));
    expect(r.status).toBe(422);
    expect((r.body.errors as { path: string }[]).map((e) => e.path).sort()).toEqual(['emailVerified', 'role']);
    const got = await s.request<Json>('GET', '/api/profile', undefined, bearer(a.accessToken));
    expect(got.body).toMatchObject({ role: 'viewer', emailVerified: true, firstName: null });
  });

  it('keeps a new email pending until the link sent to it is followed, and tells the old address', async () => {
    const a = await signUpVerified(s, 'old@example.com');
    const noPassword = await s.request('PUT', '/api/profile', { email: 'new@example.com' }, bearer(a.accessToken));
    expect(noPassword.status).toBe(422);
    const r = await s.request<Json>(
      'PUT',
      '/api/profile',
      { email: 'new@example.com', currentPassword: TEST_PASSWORD },
      bearer(a.accessToken),
    );
    expect(r.status).toBe(200);
    expect(r.body.user).toMatchObject({ email: 'old@example.com', pendingEmail: 'new@example.com' });
    await s.smtp.waitFor('old@example.com', /being changed/i);
    const link = linkParams(await s.smtp.waitFor('new@example.com', /confirm your new email/i));
    expect((await s.request('POST', '/api/auth/login', { email: 'new@example.com', password: TEST_PASSWORD })).status).toBe(401);

    expect((await s.request('GET', `/api/auth/verify-email?token=${encodeURIComponent(link.token)}&email=new%40example.com`)).status).toBe(
      200,
    );
    const me = await s.request<Json>('GET', '/api/profile', undefined, bearer(a.accessToken));
    expect(me.body).toMatchObject({ email: 'new@example.com', pendingEmail: null, emailVerified: true });
    expect((await s.request('POST', '/api/auth/login', { email: 'new@example.com', password: TEST_PASSWORD })).status).toBe(200);
    expect((await s.request('POST', '/api/auth/login', { email: 'old@example.com', password: TEST_PASSWORD })).status).toBe(401);
    const h = await s.request<{ data: Json[] }>('GET', '/api/profile/history', undefined, bearer(a.accessToken));
    expect(h.body.data.find((x) => x.field === 'email')).toMatchObject({ oldValue: 'old@example.com', newValue: 'new@example.com' });
    // The old address is free for someone else now: a new sign-up gets a verification link, not a "you already have an account" notice.
    const verifyMails = () => s.smtp.to('old@example.com').filter((m) => /verify/i.test(m.subject)).length;
    expect(verifyMails()).toBe(1);
    expect((await s.request('POST', '/api/auth/register', { email: 'old@example.com', password: TEST_PASSWORD })).status).toBe(201);
    const deadline = Date.now() + 10000;
    while (verifyMails() < 2 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 25));
    expect(verifyMails()).toBe(2);
    expect(s.smtp.to('old@example.com').some((m) => /tried to sign up/i.test(m.subject))).toBe(false);
  });

  it('deactivates with the password: sessions end, sign-in is refused, an email goes out', async () => {
    const a = await signUpVerified(s, 'leaving@example.com');
    expect((await s.request('DELETE', '/api/profile', { currentPassword: 'wrong wrong wrong' }, bearer(a.accessToken))).status).toBe(400);
    const r = await s.request('DELETE', '/api/profile', { currentPassword: TEST_PASSWORD }, bearer(a.accessToken));
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ message: 'Account deactivated' });
    expect((await s.request('GET', '/api/profile', undefined, bearer(a.accessToken))).status).toBe(401);
    expect((await s.request('POST', '/api/auth/token', { refreshToken: a.refreshToken })).status).toBe(401);
    const again = await s.request('POST', '/api/auth/login', { email: 'leaving@example.com', password: TEST_PASSWORD });
    expect(again.status).toBe(401);
    expect(again.body.code).toBe('INVALID_CREDENTIALS');
    await s.smtp.waitFor('leaving@example.com', /deactivated/i);
  });

  it('stores no plain password or token in any event', async () => {
    const a = await signUpVerified(s, 'secrets@example.com');
    const refreshed = await s.request<Json>('POST', '/api/auth/token', { refreshToken: a.refreshToken });
    await s.request('POST', '/api/auth/forgot-password', { email: 'secrets@example.com' });
    const reset = linkParams(await s.smtp.waitFor('secrets@example.com', /reset/i));
    const verify = linkParams(s.smtp.to('secrets@example.com').find((m) => /verify/i.test(m.subject))!);
    await s.request('POST', '/api/auth/reset-password', { token: reset.token, email: 'secrets@example.com', password: NEW_PASSWORD });
    const log = (await s.system.knex.raw(`SELECT string_agg(data::text || metadata::text, '\n') AS t FROM es_events`)).rows[0].t as string;
    for (const secret of [
      TEST_PASSWORD,
      NEW_PASSWORD,
      a.refreshToken,
      a.accessToken,
      refreshed.body.refreshToken as string,
      reset.token,
      verify.token,
    ]) {
      expect(log.includes(secret)).toBe(false);
    }
    expect(log).toMatch(/\$2[aby]\$04\$/); // bcrypt hashes are what is stored
  });
});
