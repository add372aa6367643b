/** Signing in the seeded users whose sessions the scenarios use. */
import { PASSWORD } from './accounts';

export interface Session {
  email: string;
  userId: string;
  accessToken: string;
  refreshToken: string;
  sessionId: string;
}

export async function login(url: string, email: string): Promise<Session> {
  const r = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  const body = (await r.json()) as Record<string, unknown>;
  if (r.status !== 200) throw new Error(`login ${email}: ${r.status} ${JSON.stringify(body)}`);
  return {
    email,
    userId: (body.user as { id: string }).id,
    accessToken: body.accessToken as string,
    refreshToken: body.refreshToken as string,
    sessionId: body.sessionId as string,
  };
}

export async function loginMany(url: string, emails: string[], concurrency: number): Promise<Session[]> {
  const out: Session[] = new Array(emails.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < emails.length) {
        const i = next++;
        out[i] = await login(url, emails[i]);
      }
    }),
  );
  return out;
}
