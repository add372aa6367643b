import { System } from '../../src/system';
import { eventually } from '../helpers/eventually';
import { login, signUpVerified } from '../helpers/flows';
import { bearer, startStack, TestStack } from '../helpers/stack';

describe('revocation across API replicas', () => {
  let s: TestStack;
  let other: System;
  beforeAll(async () => {
    s = await startStack('replicas', { REQUIRE_EMAIL_VERIFICATION: 'false' });
    other = await s.startAnother(['api']);
  });
  afterAll(async () => {
    await s?.stop();
  });

  const at = (base: string) => (path: string, token: string) => fetch(`${base}${path}`, { headers: bearer(token) }).then((r) => r.status);

  it('a logout on one replica is refused on the other within milliseconds (in-memory list fed by Redis pub/sub)', async () => {
    const a = await signUpVerified(s, 'replica@example.com');
    const b = await login(s, 'replica@example.com');
    const onOther = at(other.url!);
    expect(await onOther('/api/auth/me', a.accessToken)).toBe(200);

    expect((await s.request('POST', '/api/auth/logout', { refreshToken: a.refreshToken })).status).toBe(200);
    // Redis pub/sub carries it across; allow the delivery a moment, never the token's lifetime.
    await eventually(async () => (await onOther('/api/auth/me', a.accessToken)) === 401, 1000, 'the other replica to refuse');
    expect(await onOther('/api/auth/me', b.accessToken)).toBe(200);
  });

  it('a replica started later knows revocations made before it started', async () => {
    const a = await signUpVerified(s, 'late@example.com');
    expect((await s.request('POST', '/api/auth/logout-all', undefined, bearer(a.accessToken))).status).toBe(200);
    const late = await s.startAnother(['api']);
    expect(await at(late.url!)('/api/auth/me', a.accessToken)).toBe(401);
  });
});
