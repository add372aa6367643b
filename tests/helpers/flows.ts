import { linkParams } from './smtp';
import { TestStack, TEST_PASSWORD } from './stack';

export interface LoggedIn {
  accessToken: string;
  refreshToken: string;
  sessionId: string;
  deviceId: string;
  user: { id: string; email: string; [k: string]: unknown };
}

/** Signs up, follows the emailed link, and signs in: the whole path a new user takes. */
export async function signUpVerified(
  s: TestStack,
  email: string,
  extra: Record<string, unknown> = {},
  password = TEST_PASSWORD,
): Promise<LoggedIn> {
  const reg = await s.request('POST', '/api/auth/register', { email, password, ...extra });
  if (reg.status !== 201) throw new Error(`register ${email}: ${reg.status} ${JSON.stringify(reg.body)}`);
  if (!s.config.requireEmailVerification) return reg.body as unknown as LoggedIn;
  const { token } = linkParams(await s.smtp.waitFor(email, /verify/i));
  const v = await s.request('POST', '/api/auth/verify-email', { token, email });
  if (v.status !== 200) throw new Error(`verify ${email}: ${v.status} ${JSON.stringify(v.body)}`);
  return login(s, email, password);
}

export async function login(s: TestStack, email: string, password = TEST_PASSWORD, deviceId?: string): Promise<LoggedIn> {
  const r = await s.request('POST', '/api/auth/login', { email, password, ...(deviceId ? { deviceId } : {}) });
  if (r.status !== 200) throw new Error(`login ${email}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as unknown as LoggedIn;
}

/** `name=value` pairs from Set-Cookie headers, ready for a Cookie header. */
export const cookiesOf = (headers: Headers): Record<string, string> =>
  Object.fromEntries(
    headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );

export const cookieHeader = (cookies: Record<string, string>): Record<string, string> => ({
  cookie: Object.entries(cookies)
    .map(([k, v]) => `${k}=${v}`)
    .join('; '),
});
