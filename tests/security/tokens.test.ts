import { createHmac, generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { ConfigError, loadConfig } from '../../src/config';
import { linkParams } from '../helpers/smtp';
import { bearer, startStack, TestStack, TEST_PASSWORD } from '../helpers/stack';

type Json = Record<string, unknown>;

const b64url = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
const partsOf = (token: string): { header: Json; payload: Json; signature: string } => {
  const [h, p, sig] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString()),
    signature: sig,
  };
};

/**
 * Access and refresh tokens: RFC 8725 (JWT Best Current Practices), RFC 9068 (JWT access
 * tokens), RFC 9700 (OAuth 2.0 Security BCP) and OWASP ASVS 5.0 V9 (self-contained tokens).
 * Every forged token below is first shown to be the only thing wrong: the genuine one works.
 */
describe('tokens (RFC 8725, RFC 9068, RFC 9700, OWASP ASVS 5.0 V9)', () => {
  let s: TestStack;
  let access: string;
  let refresh: string;
  let verificationToken: string;
  let resetToken: string;
  const me = (token: string) => s.request('GET', '/api/auth/me', undefined, bearer(token));
  /** Signs claims with the service's own secret, so only the aspect under test is wrong. */
  const signOwn = (payload: Json, options: jwt.SignOptions = {}) =>
    jwt.sign(payload, s.config.jwt.secret, { algorithm: 'HS256', header: { alg: 'HS256', typ: 'at+jwt' }, ...options });
  const claimsOf = (): Json => {
    const { payload } = partsOf(access);
    return { ...payload };
  };

  beforeAll(async () => {
    s = await startStack('tokens', { REFRESH_GRACE_SECONDS: '0' });
    const email = 'tokens@example.com';
    expect((await s.request('POST', '/api/auth/register', { email, password: TEST_PASSWORD })).status).toBe(201);
    verificationToken = linkParams(await s.smtp.waitFor(email, /verify/i)).token;
    expect((await s.request('POST', '/api/auth/verify-email', { token: verificationToken, email })).status).toBe(200);
    const signedIn = await s.request<Json>('POST', '/api/auth/login', { email, password: TEST_PASSWORD });
    access = signedIn.body.accessToken as string;
    refresh = signedIn.body.refreshToken as string;
    expect((await s.request('POST', '/api/auth/forgot-password', { email })).status).toBe(202);
    resetToken = linkParams(await s.smtp.waitFor(email, /reset/i)).token;
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('RFC 9068 2.1 / ASVS 5.0 V9.2.1: access tokens are typed at+jwt, HS256, issued for this service and short-lived (15 minutes)', async () => {
    expect((await me(access)).status).toBe(200);
    const { header, payload } = partsOf(access);
    expect(header).toEqual({ alg: 'HS256', typ: 'at+jwt' });
    expect(payload).toMatchObject({ iss: 'iam-es', aud: 'iam-es', sub: expect.any(String), jti: expect.any(String) });
    expect((payload.exp as number) - (payload.iat as number)).toBe(900);
  });

  it('RFC 8725 2.1, 3.1 / ASVS 5.0 V9.1.2: a token with alg "none" is refused', async () => {
    const none = `${b64url({ alg: 'none', typ: 'at+jwt' })}.${b64url(claimsOf())}.`;
    const r = await me(none);
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await me(`${b64url({ alg: 'NONE', typ: 'at+jwt' })}.${b64url(claimsOf())}.`)).status).toBe(401);
  });

  it('RFC 8725 3.1 / ASVS 5.0 V9.1.2: a token re-signed with another algorithm (HS512, same secret) is refused', async () => {
    const { iat: _iat, ...claims } = claimsOf();
    const hs512 = jwt.sign(claims, s.config.jwt.secret, { algorithm: 'HS512', header: { alg: 'HS512', typ: 'at+jwt' } });
    expect((await me(hs512)).status).toBe(401);
  });

  it('RFC 8725 2.1, 3.1 / ASVS 5.0 V9.1.3: RS256 tokens and HMAC-with-a-public-key confusion are refused', async () => {
    const { iat: _iat, ...claims } = claimsOf();
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rs256 = jwt.sign(claims, privateKey, { algorithm: 'RS256', header: { alg: 'RS256', typ: 'at+jwt' } });
    expect((await me(rs256)).status).toBe(401);
    // The classic confusion: an RSA public key used as an HMAC secret.
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const confused = `${b64url({ alg: 'HS256', typ: 'at+jwt' })}.${b64url(claims)}`;
    const sig = createHmac('sha256', pem).update(confused).digest('base64url');
    expect((await me(`${confused}.${sig}`)).status).toBe(401);
  });

  it('RFC 8725 2.1 / ASVS 5.0 V9.1.1: a tampered payload (role raised to admin) is refused', async () => {
    const { header, signature } = partsOf(access);
    const forged = `${b64url(header)}.${b64url({ ...claimsOf(), role: 'admin' })}.${signature}`;
    expect((await me(forged)).status).toBe(401);
    const flipped = access.slice(0, -2) + (access.endsWith('AA') ? 'BB' : 'AA');
    expect((await me(flipped)).status).toBe(401);
  });

  it('RFC 8725 3.11 / RFC 9068 2.1: a token with the wrong typ (or none) is refused', async () => {
    const { iat: _iat, ...claims } = claimsOf();
    expect((await me(signOwn(claims))).status).toBe(200);
    expect((await me(signOwn(claims, { header: { alg: 'HS256', typ: 'JWT' } }))).status).toBe(401);
    expect((await me(signOwn(claims, { header: { alg: 'HS256' } }))).status).toBe(401);
  });

  it('RFC 8725 3.8, 3.9 / ASVS 5.0 V9.2.3: a token from another issuer or for another audience is refused', async () => {
    const { iat: _iat, ...claims } = claimsOf();
    expect((await me(signOwn({ ...claims, iss: 'someone-else' }))).status).toBe(401);
    expect((await me(signOwn({ ...claims, aud: 'another-api' }))).status).toBe(401);
    const { iss: _iss, aud: _aud, ...unscoped } = claims;
    expect((await me(signOwn(unscoped))).status).toBe(401);
  });

  it('ASVS 5.0 V9.2.1: an expired token is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect((await me(signOwn({ ...claimsOf(), iat: now - 1000, exp: now - 100 }))).status).toBe(401);
  });

  it('RFC 9068 2.2 / ASVS 5.0 V9.2.1: a correctly signed token lacking exp, iat, sub, sid or jti is a 401, never a 500', async () => {
    const complete = claimsOf();
    // jsonwebtoken keeps a given iat, and adds one unless told not to (noTimestamp).
    const sign = (claims: Json) => signOwn(claims, 'iat' in claims ? {} : { noTimestamp: true });
    expect((await me(sign(complete))).status).toBe(200);
    for (const claim of ['exp', 'iat', 'sub', 'sid', 'jti']) {
      const { [claim]: _dropped, ...lacking } = complete;
      const token = sign(lacking);
      expect(Object.keys(partsOf(token).payload)).not.toContain(claim);
      for (const path of ['/api/auth/me', '/api/profile', '/api/auth/sessions']) {
        const r = await s.request('GET', path, undefined, bearer(token));
        expect([claim, path, r.status, r.body.code]).toEqual([claim, path, 401, 'UNAUTHENTICATED']);
      }
    }
    // Claims of the wrong type are no better than missing ones (jsonwebtoken will not sign them: by hand).
    const byHand = (claims: Json) => {
      const unsigned = `${b64url({ alg: 'HS256', typ: 'at+jwt' })}.${b64url(claims)}`;
      return `${unsigned}.${createHmac('sha256', s.config.jwt.secret).update(unsigned).digest('base64url')}`;
    };
    expect((await me(byHand(complete))).status).toBe(200);
    for (const odd of [{ exp: String(complete.exp) }, { iat: 'yesterday' }, { sub: 42 }, { sid: '' }]) {
      expect([odd, (await me(byHand({ ...complete, ...odd }))).status]).toEqual([odd, 401]);
    }
  });

  it('RFC 8725 3.12 / ASVS 5.0 V9.2.2: a refresh token, a verification token or a reset token is not an access token', async () => {
    for (const token of [refresh, verificationToken, resetToken]) {
      const r = await me(token);
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({ code: 'UNAUTHENTICATED' });
    }
    // Nor is an access token a refresh token.
    expect((await s.request('POST', '/api/auth/token', { refreshToken: access })).status).toBe(401);
  });

  it('ASVS 5.0 V14.2.1: tokens are never accepted from the query string', async () => {
    for (const name of ['access_token', 'token', 'accessToken']) {
      expect((await s.request('GET', `/api/auth/me?${name}=${encodeURIComponent(access)}`)).status).toBe(401);
    }
  });

  it('RFC 8725 3.5 / RFC 7518 3.2: signing and token secrets must carry at least 256 bits; weak ones stop the start', () => {
    const strong = 'Jw7-kQ2_pL9xVb4mNc8RtZ1sYd6HfA3eGu5WoKi0TnXr';
    const dev = { jwtSecret: strong, tokenSecret: strong };
    for (const weak of ['secret', 'x'.repeat(64), strong.slice(0, 31), 'ab'.repeat(40)]) {
      expect(() => loadConfig({ JWT_SECRET: weak }, dev)).toThrow(ConfigError);
      expect(() => loadConfig({ TOKEN_SECRET: weak }, dev)).toThrow(ConfigError);
    }
    expect(() => loadConfig({ NODE_ENV: 'production', TOKEN_SECRET: strong })).toThrow(/JWT_SECRET/);
    expect(() => loadConfig({ JWT_ALGORITHM: 'none' }, dev)).toThrow(ConfigError);
    expect(() => loadConfig({ JWT_ALGORITHM: 'RS256' }, dev)).toThrow(ConfigError);
  });

  it('RFC 9700 4.14.2 / ASVS 5.0 V7.2.4: refresh tokens rotate, and a spent one coming back ends the whole session (reuse detection)', async () => {
    const signedIn = await s.request<Json>('POST', '/api/auth/login', { email: 'tokens@example.com', password: TEST_PASSWORD });
    const first = signedIn.body.refreshToken as string;
    const rotated = await s.request<Json>('POST', '/api/auth/token', { refreshToken: first });
    expect(rotated.status).toBe(200);
    expect(rotated.body.refreshToken).not.toBe(first);
    const replay = await s.request<Json>('POST', '/api/auth/token', { refreshToken: first });
    expect(replay.status).toBe(401);
    expect(replay.body.detail).toMatch(/reuse/i);
    // The thief's replay also kills the legitimate successor and its access token.
    expect((await s.request('POST', '/api/auth/token', { refreshToken: rotated.body.refreshToken })).status).toBe(401);
    expect((await me(rotated.body.accessToken as string)).status).toBe(401);
  });

  it('RFC 9700 4.14 / ASVS 5.0 V7.4.1: after logout, the access and refresh tokens stop working at once', async () => {
    const signedIn = await s.request<Json>('POST', '/api/auth/login', { email: 'tokens@example.com', password: TEST_PASSWORD });
    const a = signedIn.body.accessToken as string;
    expect((await me(a)).status).toBe(200);
    expect((await s.request('POST', '/api/auth/logout', undefined, bearer(a))).status).toBe(200);
    expect((await me(a)).status).toBe(401);
    expect((await s.request('POST', '/api/auth/token', { refreshToken: signedIn.body.refreshToken })).status).toBe(401);
  });
});
