import Redis from 'ioredis';
import { eventually } from '../helpers/eventually';
import { login, signUpVerified } from '../helpers/flows';
import { OwnRedis } from '../helpers/redis-server';
import { bearer, HttpResult, startStack, TestStack, TEST_PASSWORD } from '../helpers/stack';

/** Generous: what is asserted is "answers at once instead of hanging", not a speed. */
const FAST_MS = 3000;

/**
 * Redis goes away mid-run: requests that need it answer 503 with Retry-After at once (never a
 * hang, never a 500), a token whose revocation cannot be checked is not accepted, and all is
 * well again once Redis is back.
 */
describe('a Redis outage', () => {
  const redis = new OwnRedis(6392);
  let s: TestStack;

  beforeAll(async () => {
    await redis.start();
    s = await startStack('redisout', { REDIS_URL: redis.url, REQUIRE_EMAIL_VERIFICATION: 'false' });
  });
  afterAll(async () => {
    // Back up first, whatever the test left: the app's queues would otherwise retry forever.
    await redis.start();
    await s?.stop();
    await redis.dispose();
  });

  const timed = async <T>(f: () => Promise<HttpResult<T>>): Promise<HttpResult<T> & { ms: number }> => {
    const started = Date.now();
    const r = await f();
    return { ...r, ms: Date.now() - started };
  };

  const expectUnavailable = (r: HttpResult & { ms: number }) => {
    expect(r.ms).toBeLessThan(FAST_MS);
    expect(r.status).toBe(503);
    expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(r.body.code).toBe('UNAVAILABLE');
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
  };

  it('answers 503 at once while Redis is down, fails closed on tokens, and recovers when it is back', async () => {
    const live = await signUpVerified(s, 'outage@example.com');
    const ended = await login(s, 'outage@example.com');
    const endedDuringOutage = await login(s, 'outage@example.com');
    expect((await s.request('POST', '/api/auth/logout', undefined, bearer(ended.accessToken))).status).toBe(200);

    await redis.stop();

    // The revocation of an access token cannot be checked: refused (503), not waved through.
    expectUnavailable(await timed(() => s.request('GET', '/api/auth/me', undefined, bearer(live.accessToken))));
    expectUnavailable(await timed(() => s.request('PATCH', '/api/profile', { firstName: 'Ada' }, bearer(live.accessToken))));
    // Rate limits and lockout live in Redis: sign-in and refresh are refused rather than unlimited.
    expectUnavailable(await timed(() => s.request('POST', '/api/auth/login', { email: 'outage@example.com', password: TEST_PASSWORD })));
    expectUnavailable(await timed(() => s.request('POST', '/api/auth/token', { refreshToken: live.refreshToken })));
    // A token this process knows is revoked is refused as such, Redis or not.
    const known = await timed(() => s.request('GET', '/api/auth/me', undefined, bearer(ended.accessToken)));
    expect(known.ms).toBeLessThan(FAST_MS);
    expect(known.status).toBe(401);
    // Ending a session needs no Redis to be recorded: it is in the log, and its tokens stop.
    const logout = await timed(() => s.request('POST', '/api/auth/logout', { refreshToken: endedDuringOutage.refreshToken }));
    expect(logout.ms).toBeLessThan(FAST_MS);
    expect(logout.status).toBe(200);

    const ready = await timed(() => s.request<{ checks: { name: string; ok: boolean }[] }>('GET', '/health/ready'));
    expect(ready.ms).toBeLessThan(FAST_MS);
    expect(ready.status).toBe(503);
    expect(ready.body.checks.find((c) => c.name === 'redis')?.ok).toBe(false);
    const alive = await timed(() => s.request('GET', '/health/live'));
    expect(alive.status).toBe(200);

    await redis.start();
    await eventually(
      async () => (await s.request('GET', '/api/auth/me', undefined, bearer(live.accessToken))).status === 200,
      15_000,
      'the app to use Redis again',
    );
    expect((await s.request('GET', '/api/auth/me', undefined, bearer(ended.accessToken))).status).toBe(401);
    expect((await s.request('GET', '/api/auth/me', undefined, bearer(endedDuringOutage.accessToken))).status).toBe(401);
    expect((await s.request('POST', '/api/auth/login', { email: 'outage@example.com', password: TEST_PASSWORD })).status).toBe(200);
    expect((await s.request('GET', '/health/ready')).status).toBe(200);
    // The logout made during the outage reached Redis too, for the other processes.
    const raw = new Redis(redis.url);
    try {
      await eventually(
        async () => (await raw.get(`${s.config.redisPrefix}:sess:${endedDuringOutage.sessionId}`)) === 'revoked',
        5000,
        'the held revocation in Redis',
      );
    } finally {
      raw.disconnect();
    }
  });
});
