import { Writable } from 'node:stream';
import pino from 'pino';
import { prehash } from '../../src/infra/password-hasher';
import { createMailer } from '../../src/workers/mailer';
import { linkParams } from '../helpers/smtp';
import { bearer, HttpResult, startStack, TestStack } from '../helpers/stack';

type Json = Record<string, unknown>;

const EMAIL = 'secret-keeper@example.com';
const NEW_EMAIL = 'secret-keeper-2@example.com';
const P1 = 'first passphrase of the keeper';
const P2 = 'second passphrase of the keeper';
const P3 = 'third passphrase of the keeper';

/**
 * Secrets stay secret: one account's whole life (register, verify by link, login, refresh,
 * change password, forgot/reset, an API key, change email, logout), then every log line, every event,
 * every Redis value and every response body is searched for each password and token.
 * OWASP ASVS 5.0 V16.2.5 (no credentials in logs), V14.2.1 (none in URLs that get logged),
 * V11.4.2 (passwords stored hashed), V14.3 (no hashes sent to clients).
 */
describe('secrets (OWASP ASVS 5.0 V11.4, V14, V16.2)', () => {
  let s: TestStack;
  const responses: { what: string; r: HttpResult }[] = [];
  const secrets: Record<string, string> = {};

  const call = async <T = Json>(
    what: string,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<HttpResult<T>> => {
    const r = await s.request<T>(method, path, body, headers);
    responses.push({ what, r: r as HttpResult });
    expect([what, r.status < 300]).toEqual([what, true]);
    return r;
  };

  beforeAll(async () => {
    s = await startStack('secrets');
    await call('register', 'POST', '/api/auth/register', { email: EMAIL, password: P1, firstName: 'Keeper' });
    const verify = linkParams(await s.smtp.waitFor(EMAIL, /verify/i));
    secrets.verificationToken = verify.token;
    // Follow the emailed link itself: the token travels in the query string.
    const link = new URL(verify.url);
    await call('verify by link', 'GET', `${link.pathname}${link.search}`);

    const l1 = await call('login', 'POST', '/api/auth/login', { email: EMAIL, password: P1 });
    Object.assign(secrets, { access1: l1.body.accessToken, refresh1: l1.body.refreshToken });
    const r1 = await call('refresh', 'POST', '/api/auth/token', { refreshToken: l1.body.refreshToken });
    Object.assign(secrets, { access2: r1.body.accessToken, refresh2: r1.body.refreshToken });
    await call('me', 'GET', '/api/auth/me', undefined, bearer(r1.body.accessToken as string));

    const changed = await call(
      'change password',
      'PUT',
      '/api/profile/password',
      { currentPassword: P1, newPassword: P2 },
      bearer(r1.body.accessToken as string),
    );
    Object.assign(secrets, { access3: changed.body.accessToken, refresh3: changed.body.refreshToken });

    await call('forgot password', 'POST', '/api/auth/forgot-password', { email: EMAIL });
    secrets.resetToken = linkParams(await s.smtp.waitFor(EMAIL, /reset/i)).token;
    await call('reset password', 'POST', '/api/auth/reset-password', { token: secrets.resetToken, email: EMAIL, password: P3 });

    const l2 = await call('login again', 'POST', '/api/auth/login', { email: EMAIL, password: P3 });
    Object.assign(secrets, { access4: l2.body.accessToken, refresh4: l2.body.refreshToken });
    const auth = bearer(l2.body.accessToken as string);
    await call('profile', 'GET', '/api/profile', undefined, auth);
    const key = await call('create API key', 'POST', '/api/api-keys', { name: 'ci' }, auth);
    secrets.apiKey = key.body.key as string;
    secrets.apiKeyRandom = secrets.apiKey.slice('iam_'.length + 32 + 1); // after iam_<key id>_
    await call('use API key', 'GET', '/api/content', undefined, { 'x-api-key': secrets.apiKey });
    await call('list API keys', 'GET', '/api/api-keys', undefined, auth);
    await call('change email', 'PATCH', '/api/profile', { email: NEW_EMAIL, currentPassword: P3 }, auth);
    secrets.changeEmailToken = linkParams(await s.smtp.waitFor(NEW_EMAIL, /confirm|verify/i)).token;
    await call('confirm new email', 'POST', '/api/auth/verify-email', { token: secrets.changeEmailToken, email: NEW_EMAIL });
    await call('history', 'GET', '/api/profile/history?limit=100', undefined, auth);
    await call('sessions', 'GET', '/api/auth/sessions', undefined, auth);
    await call('logout', 'POST', '/api/auth/logout', { refreshToken: l2.body.refreshToken });

    Object.assign(secrets, {
      password1: P1,
      password2: P2,
      password3: P3,
      prehash1: prehash(P1),
      prehash2: prehash(P2),
      prehash3: prehash(P3),
    });
    // The random half of each refresh token (the other half is the session id, not a secret).
    for (const k of ['refresh1', 'refresh2', 'refresh3', 'refresh4']) secrets[`${k}Random`] = secrets[k].split('.')[1];
    // The projector and workers have caught up with the flow (the last mail arrived).
    await new Promise((r) => setTimeout(r, 200));
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('(the flow ran and yielded every password, token and key to look for)', () => {
    expect(Object.keys(secrets)).toHaveLength(23);
    for (const [name, value] of Object.entries(secrets))
      expect([name, typeof value === 'string' && value.length >= 20]).toEqual([name, true]);
  });

  it('ASVS 5.0 V16.2.5 / V14.2.1: no log line holds a password, a password pre-hash, a token or an API key — not even the emailed link’s query string', () => {
    const logs = s.logs.join('');
    expect(logs).toContain('"path":"/api/auth/verify-email"'); // the link's request was logged, by path
    for (const [name, value] of Object.entries(secrets)) expect([name, logs.includes(value)]).toEqual([name, false]);
    expect(logs).not.toMatch(/[?&](token|access_token)=/);
    expect(logs).not.toMatch(/authorization|cookie/i);
  });

  it('DESIGN "No secrets in events" / ASVS 5.0 V11.4.2: the event log holds only hashes — bcrypt for passwords, SHA-256 for tokens', async () => {
    const events = (await s.system.knex.raw(`SELECT string_agg(data::text || ' ' || metadata::text, E'\\n') AS t FROM es_events`)).rows[0]
      .t as string;
    for (const [name, value] of Object.entries(secrets)) expect([name, events.includes(value)]).toEqual([name, false]);
    expect(events).toMatch(/\$2[aby]\$04\$/);
  });

  it('ASVS 5.0 V14 (data protection): Redis (queues, revocations, rate limits) holds no password, token or key', async () => {
    const redis = s.system.redis;
    const keys = await redis.keys(`${s.config.redisPrefix}*`);
    expect(keys.length).toBeGreaterThan(0);
    const values: string[] = [];
    for (const key of keys) {
      const type = await redis.type(key);
      if (type === 'string') values.push((await redis.get(key)) ?? '');
      else if (type === 'hash') values.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === 'list') values.push(...(await redis.lrange(key, 0, -1)));
      else if (type === 'set') values.push(...(await redis.smembers(key)));
      else if (type === 'zset') values.push(...(await redis.zrange(key, '0', '-1')));
      else if (type === 'stream') values.push(JSON.stringify(await redis.xrange(key, '-', '+')));
      values.push(key);
    }
    const all = values.join('\n');
    expect(all).toContain(EMAIL.split('@')[0]); // the mail jobs are there to be searched
    for (const [name, value] of Object.entries(secrets)) expect([name, all.includes(value)]).toEqual([name, false]);
  });

  it('API.md "never a password hash" / ASVS 5.0 V14 (data protection): no response body carries a hash or a password', () => {
    expect(responses).toHaveLength(18);
    const offending = (v: unknown, path: string, out: string[]): string[] => {
      if (Array.isArray(v)) v.forEach((x, i) => offending(x, `${path}[${i}]`, out));
      else if (v !== null && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (/hash|salt|secret|password/i.test(k)) out.push(`${path}.${k}`);
          offending(x, `${path}.${k}`, out);
        }
      } else if (typeof v === 'string' && (/\$2[aby]\$\d\d\$/.test(v) || /\b[0-9a-f]{64}\b/i.test(v))) out.push(`${path} = ${v}`);
      return out;
    };
    for (const { what, r } of responses) {
      expect([what, offending(r.body, '', [])]).toEqual([what, []]);
      for (const p of [P1, P2, P3]) expect([what, JSON.stringify(r.body).includes(p)]).toEqual([what, false]);
    }
  });

  it('ASVS 5.0 V16.2.5: in production, a mail that cannot be sent (no SMTP_URL) is logged without its body, which holds a one-time link', async () => {
    const lines: string[] = [];
    const log = pino(new Writable({ write: (chunk, _e, cb) => (lines.push(String(chunk)), cb()) }));
    const link = 'https://id.example.test/reset-password?token=s3cr3t-one-time-token&email=x%40example.com';
    await createMailer(null, 'from@example.com', log, { logContent: false }).send({
      to: 'x@example.com',
      subject: 'Reset your password',
      text: link,
      html: `<a href="${link}">reset</a>`,
    });
    expect(lines.join('')).toContain('Reset your password');
    expect(lines.join('')).not.toContain('s3cr3t-one-time-token');
  });
});
