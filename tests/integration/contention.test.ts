import { signUpVerified } from '../helpers/flows';
import { bearer, HttpResult, startStack, TestStack, TEST_PASSWORD } from '../helpers/stack';

/**
 * Many requests writing one stream at once (a user's logins, one session's refreshes, one
 * profile's patches): each either succeeds or, if it lost every retry, answers 503 CONTENTION
 * with Retry-After. Never a 500.
 */
describe('contention on one account', () => {
  let s: TestStack;
  beforeAll(async () => {
    // Many logins of one user: let them all keep their sessions, so the count of sessions is checkable.
    s = await startStack('contention', { REQUIRE_EMAIL_VERIFICATION: 'false', MAX_SESSIONS_PER_USER: '100' });
  });
  afterAll(async () => {
    await s?.stop();
  });

  /** The statuses of the answers, after checking that every refusal is the documented one. */
  const statuses = (results: HttpResult[]): number[] => {
    for (const r of results) {
      if (r.status === 503) {
        expect(r.body.code).toBe('CONTENTION');
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      }
    }
    return results.map((r) => r.status);
  };

  it.each([20, 50])('%i parallel logins of one user: every one answers 200 (or 503 CONTENTION), none 500', async (n) => {
    const email = `many-${n}@example.com`;
    await signUpVerified(s, email);
    const results = await Promise.all(
      Array.from({ length: n }, () => s.request('POST', '/api/auth/login', { email, password: TEST_PASSWORD })),
    );
    const got = statuses(results);
    expect(got.filter((x) => x !== 200 && x !== 503)).toEqual([]);
    // The retries are what carry them: at this size every login gets through.
    expect(got.filter((x) => x === 200).length).toBe(n);
    // Each 200 is a live session of its own.
    const first = results.find((r) => r.status === 200)!.body as { accessToken: string };
    const sessions = await s.request<{ data: unknown[] } | unknown[]>('GET', '/api/auth/sessions', undefined, bearer(first.accessToken));
    expect(sessions.status).toBe(200);
    const list = Array.isArray(sessions.body) ? sessions.body : sessions.body.data;
    expect(list.length).toBe(n + 1);
  });

  it('20 parallel refreshes with one token: one new pair, the rest refused as just rotated, none 500', async () => {
    const a = await signUpVerified(s, 'refresher@example.com');
    const results = await Promise.all(
      Array.from({ length: 20 }, () => s.request('POST', '/api/auth/token', { refreshToken: a.refreshToken })),
    );
    const got = statuses(results);
    expect(got.filter((x) => x === 200).length).toBe(1);
    for (const r of results.filter((x) => x.status !== 200)) {
      expect(r.status).toBe(401);
      expect(r.body.code).toBe('REFRESH_TOKEN_ROTATED');
    }
    // The branch that won is alive.
    const winner = results.find((r) => r.status === 200)!.body as { refreshToken: string };
    expect((await s.request('POST', '/api/auth/token', { refreshToken: winner.refreshToken })).status).toBe(200);
  });

  it('20 parallel profile patches of one account: all applied, none 500', async () => {
    const a = await signUpVerified(s, 'patcher@example.com');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        s.request('PATCH', '/api/profile', { profile: { [`k${i}`]: i }, firstName: `Name${i}` }, bearer(a.accessToken)),
      ),
    );
    const got = statuses(results);
    expect(got.filter((x) => x !== 200 && x !== 503)).toEqual([]);
    expect(got.filter((x) => x === 200).length).toBe(20);
    const history = await s.request<{ data: { field: string }[]; meta: { total: number } }>(
      'GET',
      '/api/profile/history?limit=100',
      undefined,
      bearer(a.accessToken),
    );
    // Twenty writes, each changing the first name (and the profile): none lost.
    expect(history.body.data.filter((h) => h.field === 'firstName').length).toBe(20);
  });
});
