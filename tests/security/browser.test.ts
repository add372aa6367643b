import { cookieHeader, cookiesOf, signUpVerified } from '../helpers/flows';
import { bearer, startStack, TestStack, TEST_PASSWORD } from '../helpers/stack';

type Json = Record<string, unknown>;

const APP = 'https://id.example.test';
const SPA = 'https://app.example.test';
const EVIL = 'https://evil.example.net';

/**
 * What protects browser users: security headers, a CORS allow-list, CSRF protection for
 * cookie-authenticated changes, cookie attributes. OWASP ASVS 5.0 V3 (web frontend security).
 */
describe('browser safety (OWASP ASVS 5.0 V3.3, V3.4, V3.5)', () => {
  let s: TestStack;
  let n = 0;
  beforeAll(async () => {
    s = await startStack('browser', { CORS_ORIGINS: `${SPA}, http://localhost:5173` });
  });
  afterAll(async () => {
    await s?.stop();
  });

  /** A user signed in with cookies only, as a browser would be. */
  const cookieSession = async (): Promise<Record<string, string>> => {
    const email = `browser${++n}@example.com`;
    await signUpVerified(s, email);
    const r = await s.request('POST', '/api/auth/login', { email, password: TEST_PASSWORD });
    expect(r.status).toBe(200);
    return cookiesOf(r.headers);
  };

  it('ASVS 5.0 V3.4.1, V3.4.3–V3.4.6: API answers carry HSTS, a deny-all CSP, nosniff, no-referrer and anti-framing headers, errors included', async () => {
    for (const [method, path] of [
      ['GET', '/health/live'],
      ['GET', '/api/auth/me'],
      ['GET', '/no/such/route'],
    ]) {
      const r = await s.request(method, path);
      const h = (name: string) => r.headers.get(name);
      expect([path, h('strict-transport-security')]).toEqual([path, 'max-age=31536000; includeSubDomains']);
      expect(h('content-security-policy')).toMatch(/default-src 'none'/);
      expect(h('content-security-policy')).toMatch(/frame-ancestors 'none'/);
      expect(h('x-content-type-options')).toBe('nosniff');
      expect(h('referrer-policy')).toBe('no-referrer');
      expect(h('x-frame-options')).toBe('DENY');
      expect(h('cross-origin-opener-policy')).toBe('same-origin');
      expect(h('cross-origin-resource-policy')).toBe('same-origin');
      expect(h('x-powered-by')).toBeNull();
    }
  });

  it('ASVS 5.0 V3.4.3: the built-in reset page keeps its own nonce-based CSP, not the API’s', async () => {
    const page = await s.request('GET', '/reset-password?token=t&email=e%40example.com');
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'nonce-[A-Za-z0-9+/=]+'/);
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).not.toMatch(/,/); // one policy, not two merged
    const nonce = /'nonce-([^']+)'/.exec(csp)![1];
    expect(String(page.body)).toContain(`<script nonce="${nonce}">`);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('ASVS 5.0 V3.4.2: CORS answers only listed origins, by name and with credentials — never a wildcard', async () => {
    const preflight = (origin: string) =>
      s.request('OPTIONS', '/api/auth/login', undefined, {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      });
    const ok = await preflight(SPA);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(SPA);
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    expect(ok.headers.get('access-control-allow-methods')).toMatch(/POST/);
    expect(ok.headers.get('vary')).toMatch(/Origin/i);

    const evil = await preflight(EVIL);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    expect(evil.headers.get('access-control-allow-credentials')).toBeNull();

    const simple = await s.request('GET', '/health/live', undefined, { origin: 'http://localhost:5173' });
    expect(simple.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(simple.headers.get('access-control-expose-headers')).toMatch(/Retry-After/);
    // A script on an allowed origin can see the rate limits, to slow down before a 429.
    expect(simple.headers.get('access-control-expose-headers')?.split(/,\s*/)).toEqual(
      expect.arrayContaining(['RateLimit', 'RateLimit-Policy']),
    );
    for (const origin of [EVIL, 'null', `${SPA}.evil.net`, 'https://app.example.test:8443']) {
      const r = await s.request('GET', '/health/live', undefined, { origin });
      expect([origin, r.headers.get('access-control-allow-origin')]).toEqual([origin, null]);
    }
  });

  it('ASVS 5.0 V3.5.1: a cookie-authenticated change without a trusted Origin is refused (403 CSRF_REJECTED) and changes nothing', async () => {
    const jar = await cookieSession();
    const attempts: [string, string, unknown][] = [
      ['POST', '/api/auth/logout-all', undefined],
      ['POST', '/api/auth/logout', undefined],
      ['POST', '/api/auth/refresh', undefined],
      ['POST', '/api/auth/token', {}],
      ['PATCH', '/api/profile', { firstName: 'Mallory' }],
      ['PUT', '/api/profile/password', { currentPassword: TEST_PASSWORD, newPassword: 'chosen by the attacker' }],
      ['DELETE', '/api/profile', { currentPassword: TEST_PASSWORD }],
      ['POST', '/api/auth/login', { email: 'attacker@example.com', password: 'attacker password' }],
    ];
    for (const origin of [undefined, EVIL, 'null', `${APP}.evil.net`, 'http://id.example.test']) {
      for (const [method, path, body] of attempts) {
        const r = await s.request(method, path, body, { ...cookieHeader(jar), ...(origin ? { origin } : {}) });
        expect([origin, method, path, r.status]).toEqual([origin, method, path, 403]);
        expect(r.body).toMatchObject({ code: 'CSRF_REJECTED' });
      }
    }
    // Referer is the fallback when there is no Origin.
    expect((await s.request('POST', '/api/auth/logout-all', undefined, { ...cookieHeader(jar), referer: `${EVIL}/page` })).status).toBe(
      403,
    );
    // Nothing happened: the session is alive and the profile unchanged.
    const me = await s.request<{ user: Json }>('GET', '/api/auth/me', undefined, cookieHeader(jar));
    expect(me.status).toBe(200);
    expect(me.body.user.firstName).toBeNull();
  });

  it('ASVS 5.0 V3.5.1: the same changes from our own origin or a listed one go through; Referer works when Origin is absent', async () => {
    const jar = await cookieSession();
    expect((await s.request('PATCH', '/api/profile', { firstName: 'Alice' }, { ...cookieHeader(jar), origin: APP })).status).toBe(200);
    expect((await s.request('PATCH', '/api/profile', { firstName: 'Alicia' }, { ...cookieHeader(jar), origin: SPA })).status).toBe(200);
    expect(
      (await s.request('PATCH', '/api/profile', { firstName: 'Ally' }, { ...cookieHeader(jar), referer: `${APP}/account` })).status,
    ).toBe(200);
    const refreshed = await s.request('POST', '/api/auth/refresh', undefined, { ...cookieHeader(jar), origin: SPA });
    expect(refreshed.status).toBe(200);
    const jar2 = cookiesOf(refreshed.headers);
    expect((await s.request('POST', '/api/auth/logout', undefined, { ...cookieHeader(jar2), origin: APP })).status).toBe(200);
  });

  it('ASVS 5.0 V3.5.1: Bearer-authenticated requests are not affected (a cross-site page cannot set Authorization)', async () => {
    const a = await signUpVerified(s, `bearer${++n}@example.com`);
    const r = await s.request('PATCH', '/api/profile', { firstName: 'Bea' }, { ...bearer(a.accessToken), origin: EVIL });
    expect(r.status).toBe(200);
    // Even with cookies alongside: the header is what authenticates.
    const jar = await cookieSession();
    expect(
      (await s.request('PATCH', '/api/profile', { firstName: 'Bee' }, { ...bearer(a.accessToken), ...cookieHeader(jar), origin: EVIL }))
        .status,
    ).toBe(200);
    // GETs are never state changes and are not checked.
    expect((await s.request('GET', '/api/auth/me', undefined, { ...cookieHeader(jar), origin: EVIL })).status).toBe(200);
  });

  it('ASVS 5.0 V3.3.1, V3.3.2, V3.3.4: session cookies are HttpOnly, SameSite and path-scoped', async () => {
    await signUpVerified(s, `attrs${++n}@example.com`);
    const r = await s.request('POST', '/api/auth/login', { email: `attrs${n}@example.com`, password: TEST_PASSWORD });
    const set = r.headers.getSetCookie();
    const access = set.find((c) => c.startsWith('access_token='))!;
    const refresh = set.find((c) => c.startsWith('refresh_token='))!;
    expect(access).toMatch(/; path=\/;/i);
    expect(access).toMatch(/samesite=lax/i);
    expect(access).toMatch(/httponly/i);
    expect(refresh).toMatch(/; path=\/api\/auth;/i);
    expect(refresh).toMatch(/samesite=strict/i);
    expect(refresh).toMatch(/httponly/i);
  });

  it('ASVS 5.0 V3.3.1: in production the cookies are Secure, also behind a TLS-terminating proxy that speaks plain HTTP to us', async () => {
    const strong = 'Jw7-kQ2_pL9xVb4mNc8RtZ1sYd6HfA3eGu5WoKi0TnXr';
    const prod = await s.startAnother(['api'], { NODE_ENV: 'production', JWT_SECRET: strong, TOKEN_SECRET: `${strong}x` });
    await signUpVerified(s, `prod${++n}@example.com`);
    const r = await fetch(`${prod.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: `prod${n}@example.com`, password: TEST_PASSWORD }),
    });
    expect(r.status).toBe(200);
    const set = r.headers.getSetCookie();
    expect(set).toHaveLength(2);
    for (const c of set) expect(c).toMatch(/; secure/i);
  });
});
