import Redis from 'ioredis';
import { createAdmin } from '../../src/commands/user/admin-bootstrap';
import { System } from '../../src/system';
import { eventually } from '../helpers/eventually';
import { LoggedIn, login, signUpVerified } from '../helpers/flows';
import { OwnRedis } from '../helpers/redis-server';
import { linkParams } from '../helpers/smtp';
import { bearer, startStack, TestStack, TEST_PASSWORD } from '../helpers/stack';

const NEW_PASSWORD = 'a brand new passphrase 42';

/**
 * Redis loses the revocation list (killed, started empty): the list is rebuilt from the log,
 * so no access token of an ended session comes back, whether the app restarts or only
 * reconnects. One access token per way a session ends.
 */
describe('revocation list after Redis loses its data', () => {
  const redis = new OwnRedis(6391);
  let s: TestStack;
  let raw: Redis;
  /** Access tokens of ended sessions, by how they ended. */
  const revoked = new Map<string, string>();
  /** Access tokens that must keep working. */
  const live = new Map<string, string>();
  /** Session ids of the revoked tokens, to look for them in Redis. */
  const revokedSessions: string[] = [];

  const statusOf = async (url: string, token: string): Promise<number> =>
    (await fetch(`${url}/api/auth/me`, { headers: bearer(token) })).status;

  const expectRevocationsHold = async (url: string) => {
    for (const [how, token] of revoked) expect([how, await statusOf(url, token)]).toEqual([how, 401]);
    for (const [how, token] of live) expect([how, await statusOf(url, token)]).toEqual([how, 200]);
  };

  beforeAll(async () => {
    await redis.start();
    s = await startStack('revrebuild', {
      REDIS_URL: redis.url,
      REQUIRE_EMAIL_VERIFICATION: 'false',
      MAX_SESSIONS_PER_USER: '2',
      // A spent refresh token presented again is reuse at once.
      REFRESH_GRACE_SECONDS: '0',
    });
    raw = new Redis(redis.url, { maxRetriesPerRequest: null, lazyConnect: true });
    raw.on('error', () => undefined);
    const ended = (how: string, who: LoggedIn) => {
      revoked.set(how, who.accessToken);
      revokedSessions.push(who.sessionId);
    };

    const a = await signUpVerified(s, 'logout@example.com');
    expect((await s.request('POST', '/api/auth/logout', undefined, bearer(a.accessToken))).status).toBe(200);
    ended('logout', a);

    const b1 = await signUpVerified(s, 'logoutall@example.com');
    const b2 = await login(s, 'logoutall@example.com');
    expect((await s.request('POST', '/api/auth/logout-all', undefined, bearer(b1.accessToken))).status).toBe(200);
    ended('logout-all (this session)', b1);
    ended('logout-all (other session)', b2);

    const c1 = await signUpVerified(s, 'delete-session@example.com');
    const c2 = await login(s, 'delete-session@example.com');
    expect((await s.request('DELETE', `/api/auth/sessions/${c2.sessionId}`, undefined, bearer(c1.accessToken))).status).toBe(204);
    ended('DELETE /sessions/:id', c2);
    live.set('the session that deleted another', c1.accessToken);

    const d1 = await signUpVerified(s, 'change-password@example.com');
    const d2 = await login(s, 'change-password@example.com');
    const changed = await s.request<{ accessToken: string }>(
      'PUT',
      '/api/profile/password',
      { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD },
      bearer(d1.accessToken),
    );
    expect(changed.status).toBe(200);
    ended('password change (other session)', d2);
    // The session that changed it lives on with a fresh pair; its older access tokens do not.
    ended('password change (older token of the kept session)', d1);
    live.set('password change (fresh token of the kept session)', changed.body.accessToken);

    const e = await signUpVerified(s, 'reset@example.com');
    expect((await s.request('POST', '/api/auth/forgot-password', { email: 'reset@example.com' })).status).toBe(202);
    const link = linkParams(await s.smtp.waitFor('reset@example.com', /reset/i));
    expect(
      (await s.request('POST', '/api/auth/reset-password', { token: link.token, email: 'reset@example.com', password: NEW_PASSWORD }))
        .status,
    ).toBe(200);
    ended('password reset', e);

    const f = await signUpVerified(s, 'deactivate@example.com');
    expect((await s.request('DELETE', '/api/profile', { currentPassword: TEST_PASSWORD }, bearer(f.accessToken))).status).toBe(200);
    ended('self deactivation', f);

    await createAdmin(s.system.services!.cmd, 'root@example.com', TEST_PASSWORD);
    const admin = await login(s, 'root@example.com');
    live.set('the admin', admin.accessToken);
    const g = await signUpVerified(s, 'promoted@example.com');
    const h = await signUpVerified(s, 'demoted@example.com');
    expect((await s.request('PUT', `/api/users/${h.user.id}/role`, { role: 'editor' }, bearer(admin.accessToken))).status).toBe(200);
    const h2 = await login(s, 'demoted@example.com');
    expect((await s.request('PUT', `/api/users/${g.user.id}/role`, { role: 'editor' }, bearer(admin.accessToken))).status).toBe(200);
    expect((await s.request('PUT', `/api/users/${h.user.id}/role`, { role: 'viewer' }, bearer(admin.accessToken))).status).toBe(200);
    ended('role change', g);
    ended('demotion', h2);
    const i = await signUpVerified(s, 'admin-deactivated@example.com');
    expect((await s.request('DELETE', `/api/users/${i.user.id}`, undefined, bearer(admin.accessToken))).status).toBe(200);
    ended('deactivation by an admin', i);

    const j1 = await signUpVerified(s, 'evicted@example.com');
    const j2 = await login(s, 'evicted@example.com');
    const j3 = await login(s, 'evicted@example.com');
    ended('eviction by a login past MAX_SESSIONS_PER_USER', j1);
    live.set('the sessions that stayed (1)', j2.accessToken);
    live.set('the sessions that stayed (2)', j3.accessToken);

    const k = await signUpVerified(s, 'reuse@example.com');
    const rotated = await s.request<LoggedIn>('POST', '/api/auth/token', { refreshToken: k.refreshToken });
    expect(rotated.status).toBe(200);
    expect((await s.request('POST', '/api/auth/token', { refreshToken: k.refreshToken })).status).toBe(401);
    ended('refresh-token reuse (the token before)', k);
    ended('refresh-token reuse (the token after)', rotated.body);

    const l = await signUpVerified(s, 'bystander@example.com');
    live.set('a user who did nothing', l.accessToken);

    // Every way above is refused now, from the list Redis and this process hold.
    await expectRevocationsHold(s.url);
  });

  afterAll(async () => {
    raw?.disconnect();
    await s?.stop();
    await redis.dispose();
  });

  it('a running app reconnecting to a Redis that came back empty rebuilds the list: no revoked token is accepted, before or after', async () => {
    await redis.stop();
    await redis.start();
    // While the app reconnects, a check may be a 503; it is never a 200 for an ended session.
    await eventually(
      async () => {
        for (const [how, token] of revoked) expect([how, await statusOf(s.url, token)]).not.toEqual([how, 200]);
        return (await statusOf(s.url, live.get('a user who did nothing')!)) === 200;
      },
      15_000,
      'the app to answer again',
    );
    await expectRevocationsHold(s.url);
    // Redis holds the list again, for every process that asks it.
    await raw.connect().catch(() => undefined);
    await eventually(async () => (await raw.exists(`${s.config.redisPrefix}:revocations:epoch`)) === 1, 5000, 'the epoch key');
    const values = await raw.mget(...revokedSessions.map((sid) => `${s.config.redisPrefix}:sess:${sid}`));
    expect(values.every((v) => v !== null)).toBe(true);
  });

  it('an app restarted against a Redis that came back empty rebuilds the list before it answers', async () => {
    await s.system.stop();
    await redis.stop();
    await redis.start();
    const restarted: System = await s.startAnother(['api', 'projector', 'worker']);
    await expectRevocationsHold(restarted.url!);
  });
});
