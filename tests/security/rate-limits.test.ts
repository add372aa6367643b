import { RateLimitedError } from '../../src/errors';
import { Attempt, LoginThrottle } from '../../src/infra/rate-limits';
import { linkParams } from '../helpers/smtp';
import { bearer, HttpResult, startStack, TestStack, TEST_PASSWORD } from '../helpers/stack';

type Json = Record<string, unknown>;

/**
 * Rate limits and account lockout, with limits set low. The stack trusts one proxy, so each
 * test speaks from its own client IPs (X-Forwarded-For) and gets its own per-IP buckets.
 */
const LIMITS = {
  TRUST_PROXY: 'true',
  RATE_LIMIT_LOGIN_PER_IP: '5/1m',
  RATE_LIMIT_REGISTER_PER_IP: '3/1h',
  RATE_LIMIT_REFRESH_PER_IP: '4/1m',
  RATE_LIMIT_EMAIL_PER_IP: '6/1h',
  RATE_LIMIT_EMAIL_PER_ADDRESS: '2/1h',
  LOGIN_LOCK_AFTER_FAILURES: '3',
  LOGIN_LOCK_SECONDS: '1',
  LOGIN_LONG_LOCK_AFTER_FAILURES: '5',
  LOGIN_LONG_LOCK_SECONDS: '600',
  LOGIN_MAX_FAILURES_PER_HOUR: '8',
};

const from = (ip: string): Record<string, string> => ({ 'x-forwarded-for': ip });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A 429 as the contract has it: problem+json, RATE_LIMITED, Retry-After in whole seconds. */
const expectRateLimited = (r: HttpResult, maxRetryAfter: number): number => {
  expect(r.status).toBe(429);
  expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
  expect(r.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
  const retryAfter = r.headers.get('retry-after');
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(retryAfter)).toBeLessThanOrEqual(maxRetryAfter);
  return Number(retryAfter);
};

describe('rate limits (OWASP ASVS 5.0 V2.4.1, V6.3.1; NIST 800-63B-4 3.2.2)', () => {
  let s: TestStack;
  let ipCounter = 0;
  /** A fresh client address, so a test never shares a per-IP bucket with another. */
  const freshIp = (): string => `198.51.100.${++ipCounter}`;

  /** Registers and verifies an account, each request from a fresh IP; no session is started. */
  const account = async (email: string): Promise<void> => {
    expect((await s.request('POST', '/api/auth/register', { email, password: TEST_PASSWORD }, from(freshIp()))).status).toBe(201);
    const link = linkParams(await s.smtp.waitFor(email, /verify/i));
    expect((await s.request('POST', '/api/auth/verify-email', { token: link.token, email }, from(freshIp()))).status).toBe(200);
  };
  const loginFrom = (ip: string, email: string, password: string) =>
    s.request<Json>('POST', '/api/auth/login', { email, password }, from(ip));

  beforeAll(async () => {
    s = await startStack('ratelimits', LIMITS);
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('ASVS 5.0 V2.4.1 / V6.3.1: sign-in attempts per IP are limited; the next one is a 429 RATE_LIMITED with Retry-After', async () => {
    const ip = freshIp();
    for (let i = 0; i < 5; i++) expect((await loginFrom(ip, `nobody${i}@example.com`, 'some password here')).status).toBe(401);
    expectRateLimited(await loginFrom(ip, 'nobody-else@example.com', 'some password here'), 60);
    // Another client is not affected.
    expect((await loginFrom(freshIp(), 'nobody-else@example.com', 'some password here')).status).toBe(401);
  });

  it('draft-ietf-httpapi-ratelimit-headers: limited routes state their policy and what is left (RateLimit-Policy, RateLimit), also on the 429', async () => {
    const ip = freshIp();
    for (let left = 4; left >= 0; left--) {
      const r = await loginFrom(ip, `counted${left}@example.com`, 'some password here');
      expect(r.status).toBe(401);
      expect(r.headers.get('ratelimit-policy')).toBe('"login-ip";q=5;w=60');
      expect(r.headers.get('ratelimit')).toMatch(new RegExp(`^"login-ip";r=${left};t=(\\d+)$`));
    }
    const refused = await loginFrom(ip, 'counted@example.com', 'some password here');
    const retryAfter = expectRateLimited(refused, 60);
    expect(refused.headers.get('ratelimit-policy')).toBe('"login-ip";q=5;w=60');
    // The window the answer names ends no later than Retry-After says to come back.
    const t = Number(/^"login-ip";r=0;t=(\d+)$/.exec(refused.headers.get('ratelimit') ?? '')?.[1]);
    expect(t).toBeGreaterThanOrEqual(1);
    expect(t).toBeLessThanOrEqual(retryAfter);

    // A route under two limits lists both, in the order they apply.
    const signUp = await s.request('POST', '/api/auth/register', { email: 'listed@example.com', password: TEST_PASSWORD }, from(freshIp()));
    expect(signUp.status).toBe(201);
    expect(signUp.headers.get('ratelimit-policy')).toBe('"register-ip";q=3;w=3600, "email-ip";q=6;w=3600');
    expect(signUp.headers.get('ratelimit')).toMatch(/^"register-ip";r=2;t=\d+, "email-ip";r=5;t=\d+$/);
    // A route without a per-client limit says nothing of the kind.
    expect((await s.request('GET', '/health/live')).headers.get('ratelimit')).toBeNull();
  });

  it('ASVS 5.0 V2.4.1: sign-ups per IP are limited', async () => {
    const ip = freshIp();
    for (let i = 0; i < 3; i++)
      expect(
        (await s.request('POST', '/api/auth/register', { email: `signup${i}@example.com`, password: TEST_PASSWORD }, from(ip))).status,
      ).toBe(201);
    expectRateLimited(
      await s.request('POST', '/api/auth/register', { email: 'signup3@example.com', password: TEST_PASSWORD }, from(ip)),
      3600,
    );
  });

  it('NIST 800-63B-4 3.2.2 / ASVS 5.0 V6.3.1: consecutive failed sign-ins lock the account briefly, whatever the IP; success resets the count', async () => {
    await account('locked@example.com');
    // Three failures, each from a different IP: the count is per account.
    for (let i = 0; i < 3; i++) expect((await loginFrom(freshIp(), 'locked@example.com', 'wrong password 123')).status).toBe(401);
    // Locked: even the right password is refused, without being checked.
    const wait = expectRateLimited(await loginFrom(freshIp(), 'locked@example.com', TEST_PASSWORD), 1);
    await sleep(wait * 1000 + 100);
    expect((await loginFrom(freshIp(), 'locked@example.com', TEST_PASSWORD)).status).toBe(200);
    // The success cleared the consecutive count: two more failures do not lock.
    for (let i = 0; i < 2; i++) expect((await loginFrom(freshIp(), 'locked@example.com', 'wrong password 123')).status).toBe(401);
    expect((await loginFrom(freshIp(), 'locked@example.com', TEST_PASSWORD)).status).toBe(200);
  });

  it('NIST 800-63B-4 3.2.2 / ASVS 5.0 V6.3.1: parallel wrong passwords cannot overshoot the lockout; the 429s carry the lock that applies; the right password then clears the count', async () => {
    await account('parallel@example.com');
    const answers = await Promise.all(Array.from({ length: 14 }, () => loginFrom(freshIp(), 'parallel@example.com', 'wrong password 123')));
    // Each attempt is booked before its password is compared: no more than the 3 the lock allows were compared.
    const compared = answers.filter((a) => a.status === 401);
    expect(compared.length).toBeGreaterThanOrEqual(1);
    expect(compared.length).toBeLessThanOrEqual(3);
    for (const a of compared) expect(a.body.code).toBe('INVALID_CREDENTIALS');
    // The rest are refused with the 1 s lock's Retry-After, not the hour the count is kept for.
    for (const a of answers.filter((x) => x.status !== 401)) expectRateLimited(a, 1);
    await sleep(1100);
    expect((await loginFrom(freshIp(), 'parallel@example.com', TEST_PASSWORD)).status).toBe(200);
    // That success cleared the consecutive count: two more failures do not lock.
    for (let i = 0; i < 2; i++) expect((await loginFrom(freshIp(), 'parallel@example.com', 'wrong password 123')).status).toBe(401);
    expect((await loginFrom(freshIp(), 'parallel@example.com', TEST_PASSWORD)).status).toBe(200);
  });

  it('NIST 800-63B-4 3.2.2: parallel sign-ins with the right password wait for each other and never lock the account', async () => {
    await account('parallel-right@example.com');
    const answers = await Promise.all(Array.from({ length: 10 }, () => loginFrom(freshIp(), 'parallel-right@example.com', TEST_PASSWORD)));
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 10 }, () => 200));
    // Nothing was left booked: three failures are still needed to lock.
    for (let i = 0; i < 2; i++) expect((await loginFrom(freshIp(), 'parallel-right@example.com', 'wrong password 123')).status).toBe(401);
    expect((await loginFrom(freshIp(), 'parallel-right@example.com', TEST_PASSWORD)).status).toBe(200);
  });

  it('NIST 800-63B-4 3.2.2: attempts admitted all at once: only as many as the short lock allows go on to a compare, and the refused ones count toward no longer lock', async () => {
    const throttle = new LoginThrottle(s.system.redis, s.config.redisPrefix, s.config.rateLimits.loginFailures);
    const account = 'user:burst-at-once';
    const results = await Promise.allSettled(Array.from({ length: 14 }, () => throttle.admit(account)));
    const admitted = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(admitted).toHaveLength(3);
    for (const r of results) {
      if (r.status === 'rejected')
        expect([r.reason instanceof RateLimitedError, (r.reason as RateLimitedError).retryAfterSeconds]).toEqual([true, 1]);
    }
    await Promise.all(admitted.map((a) => throttle.failed(a)));
    await sleep(1100);
    // Three failures so far, not fourteen: the fourth and fifth consecutive ones reach the long lock (at 5).
    const fourth: Attempt = await throttle.admit(account);
    expect(fourth.locksLong).toBe(false);
    await throttle.failed(fourth);
    const fifth = await throttle.admit(account);
    expect(fifth.locksLong).toBe(true);
    await throttle.succeeded(fifth);
  });

  it('NIST 800-63B-4 3.2.2: more consecutive failures lock the account for longer (progressive lockout)', async () => {
    await account('longlock@example.com');
    for (let i = 0; i < 3; i++) expect((await loginFrom(freshIp(), 'longlock@example.com', 'wrong password 123')).status).toBe(401);
    await sleep(expectRateLimited(await loginFrom(freshIp(), 'longlock@example.com', 'wrong password 123'), 1) * 1000 + 100);
    for (let i = 0; i < 2; i++) expect((await loginFrom(freshIp(), 'longlock@example.com', 'wrong password 123')).status).toBe(401);
    const retryAfter = expectRateLimited(await loginFrom(freshIp(), 'longlock@example.com', TEST_PASSWORD), 600);
    expect(retryAfter).toBeGreaterThan(500);
  });

  it('NIST 800-63B-4 3.2.2 / ASVS 5.0 V6.3.1: a re-entered current password (change password, change email, deactivate) is under the same lockout', async () => {
    await account('reauth@example.com');
    const signedIn = await loginFrom(freshIp(), 'reauth@example.com', TEST_PASSWORD);
    const auth = bearer(signedIn.body.accessToken as string);
    expect(
      (
        await s.request(
          'PUT',
          '/api/profile/password',
          { currentPassword: 'guess number one', newPassword: 'a brand new passphrase' },
          auth,
        )
      ).status,
    ).toBe(400);
    expect(
      (await s.request('PATCH', '/api/profile', { email: 'thief@example.com', currentPassword: 'guess number two' }, auth)).status,
    ).toBe(400);
    expect((await s.request('DELETE', '/api/profile', { currentPassword: 'guess number three' }, auth)).status).toBe(400);
    expectRateLimited(
      await s.request('PUT', '/api/profile/password', { currentPassword: TEST_PASSWORD, newPassword: 'a brand new passphrase' }, auth),
      1,
    );
    expectRateLimited(await loginFrom(freshIp(), 'reauth@example.com', TEST_PASSWORD), 1);
  });

  it('OWASP ASVS 5.0 V6.3.1: a lockout says nothing about whether the account exists', async () => {
    await account('exists@example.com');
    for (const email of ['exists@example.com', 'does-not-exist@example.com']) {
      for (let i = 0; i < 3; i++) expect((await loginFrom(freshIp(), email, 'wrong password 123')).status).toBe(401);
    }
    const known = await loginFrom(freshIp(), 'exists@example.com', 'wrong password 123');
    const unknown = await loginFrom(freshIp(), 'does-not-exist@example.com', 'wrong password 123');
    expectRateLimited(known, 1);
    expectRateLimited(unknown, 1);
    expect(known.body).toEqual(unknown.body);
  });

  it('NIST 800-63B-4 3.2.2: at most LOGIN_MAX_FAILURES_PER_HOUR failures an hour per account, whatever the IP; successes do not reset it', async () => {
    await account('hourly@example.com');
    // Two failures then a success, four times over: the consecutive count never locks, the hourly one fills.
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 2; i++) expect((await loginFrom(freshIp(), 'hourly@example.com', 'wrong password 123')).status).toBe(401);
      if (round < 3) expect((await loginFrom(freshIp(), 'hourly@example.com', TEST_PASSWORD)).status).toBe(200);
    }
    // Eight failures this hour: the account is locked for the hour, even for the right password.
    const retryAfter = expectRateLimited(await loginFrom(freshIp(), 'hourly@example.com', TEST_PASSWORD), 3600);
    expect(retryAfter).toBeGreaterThan(3000);
  });

  it('NIST 800-63B-4 3.2.2: a parallel burst of guesses from many IPs cannot exceed the hourly cap', async () => {
    await account('burst@example.com');
    const answers = await Promise.all(Array.from({ length: 20 }, () => loginFrom(freshIp(), 'burst@example.com', 'wrong password 123')));
    const statuses = answers.map((a) => a.status);
    // Every attempt books a point before its password is checked, so no more than 8 were checked.
    expect(statuses.filter((x) => x === 401).length).toBeLessThanOrEqual(8);
    expect(statuses.filter((x) => x !== 401).every((x) => x === 429)).toBe(true);
  });

  it('ASVS 5.0 V2.4.1: refreshes per IP are limited', async () => {
    await account('refresher@example.com');
    const ip = freshIp();
    const first = await loginFrom(ip, 'refresher@example.com', TEST_PASSWORD);
    let token = first.body.refreshToken as string;
    for (let i = 0; i < 4; i++) {
      const r = await s.request<Json>('POST', '/api/auth/token', { refreshToken: token }, from(ip));
      expect(r.status).toBe(200);
      token = r.body.refreshToken as string;
    }
    expectRateLimited(await s.request('POST', '/api/auth/token', { refreshToken: token }, from(ip)), 60);
    expect((await s.request('POST', '/api/auth/token', { refreshToken: token }, from(freshIp()))).status).toBe(200);
  });

  it('ASVS 5.0 V2.4.1: requests that send email are limited per IP (forgot-password, resend, registration)', async () => {
    const ip = freshIp();
    for (let i = 0; i < 3; i++)
      expect((await s.request('POST', '/api/auth/forgot-password', { email: `mailer${i}@example.com` }, from(ip))).status).toBe(202);
    for (let i = 3; i < 6; i++)
      expect((await s.request('POST', '/api/auth/resend-verification', { email: `mailer${i}@example.com` }, from(ip))).status).toBe(202);
    expectRateLimited(await s.request('POST', '/api/auth/forgot-password', { email: 'mailer6@example.com' }, from(ip)), 3600);
    expectRateLimited(
      await s.request('POST', '/api/auth/register', { email: 'mailer7@example.com', password: TEST_PASSWORD }, from(ip)),
      3600,
    );
  });

  it('ASVS 5.0 V6.3.8 (no account enumeration): emails per address are capped silently — the same 202, nothing sent', async () => {
    await account('inbox@example.com');
    const before = s.smtp.to('inbox@example.com').length;
    const answers = [];
    for (let i = 0; i < 4; i++)
      answers.push(await s.request('POST', '/api/auth/forgot-password', { email: 'INBOX@example.com' }, from(freshIp())));
    const unknown = await s.request('POST', '/api/auth/forgot-password', { email: 'no-inbox@example.com' }, from(freshIp()));
    for (const a of answers) {
      expect(a.status).toBe(202);
      expect(a.body).toEqual(unknown.body);
    }
    // The address had 1 mail (verification) of its 2 an hour: one reset request went through.
    // Its job runs after the answer: once its mail is in, what it recorded is there to count.
    await s.smtp.waitFor('inbox@example.com', /reset/i);
    const requested = await s.system.knex.raw(
      `SELECT count(*)::int AS n FROM es_events WHERE event_type = 'PasswordResetRequested' AND stream_id = (SELECT 'user-' || id FROM users WHERE email = 'inbox@example.com')`,
    );
    expect(requested.rows[0].n).toBe(1);
    await sleep(300);
    expect(s.smtp.to('inbox@example.com').length).toBe(before + 1);
  });

  it('ASVS 5.0 V2.4.1: with TRUST_PROXY, the client is the address the proxy saw, not one the client wrote into X-Forwarded-For', async () => {
    const proxySaw = freshIp();
    // The client prepends made-up addresses; our proxy appends the real one, which is what counts.
    for (let i = 0; i < 5; i++)
      expect((await loginFrom(`203.0.113.${i}, ${proxySaw}`, `spoof${i}@example.com`, 'some password here')).status).toBe(401);
    expectRateLimited(await loginFrom(`203.0.113.99, ${proxySaw}`, 'spoof@example.com', 'some password here'), 60);

    // The address is also what the session records.
    await account('where@example.com');
    const real = freshIp();
    const signedIn = await loginFrom(`203.0.113.7, ${real}`, 'where@example.com', TEST_PASSWORD);
    const sessions = await s.request<{ data: Json[] }>('GET', '/api/auth/sessions', undefined, bearer(signedIn.body.accessToken as string));
    expect(sessions.body.data.map((x) => x.ip)).toEqual([real]);
  });

  it('ASVS 5.0 V2.4.1: an IPv6 client is counted by its /64 network, so rotating addresses within it does not dodge a limit', async () => {
    for (let i = 1; i <= 5; i++)
      expect((await loginFrom(`2001:db8:77:1::${i.toString(16)}`, `six${i}@example.com`, 'some password here')).status).toBe(401);
    expectRateLimited(await loginFrom('2001:db8:77:1:ffff:eeee:dddd:cccc', 'six@example.com', 'some password here'), 60);
    expect((await loginFrom('2001:db8:77:2::1', 'six@example.com', 'some password here')).status).toBe(401);
  });

  it('ASVS 5.0 V2.4.1: without TRUST_PROXY, X-Forwarded-For is ignored and cannot dodge a limit', async () => {
    const direct = await s.startAnother(['api'], { TRUST_PROXY: 'false' });
    const attempt = (i: number) =>
      fetch(`${direct.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': `192.0.2.${i}` },
        body: JSON.stringify({ email: `direct${i}@example.com`, password: 'some password here' }),
      });
    for (let i = 0; i < 5; i++) expect((await attempt(i)).status).toBe(401);
    const limited = await attempt(99);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
  });
});
