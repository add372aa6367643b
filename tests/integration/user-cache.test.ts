import pino from 'pino';
import { replayProjection } from '../../src/projections/replay';
import { usersProjection } from '../../src/projections/users';
import { System } from '../../src/system';
import { eventually } from '../helpers/eventually';
import { login, signUpVerified } from '../helpers/flows';
import { createAdmin } from '../../src/commands/user/admin-bootstrap';
import { bearer, startStack, TestStack, TEST_PASSWORD } from '../helpers/stack';

type Me = { user: { firstName: string | null; role: string } };

/**
 * GET /api/auth/me and GET /api/profile answer from a per-process cache of users rows. What a
 * user must never notice: an answer older than a write that was already acknowledged.
 */
describe('users rows cached in each API process', () => {
  let s: TestStack;
  let other: System;
  beforeAll(async () => {
    s = await startStack('usercache', { REQUIRE_EMAIL_VERIFICATION: 'false' });
    other = await s.startAnother(['api']);
  });
  afterAll(async () => {
    await s?.stop();
  });

  const me = async (base: string, token: string): Promise<Me> => {
    const r = await fetch(`${base}/api/auth/me`, { headers: bearer(token) });
    expect(r.status).toBe(200);
    return (await r.json()) as Me;
  };
  const firstNameOn = async (base: string, token: string) => (await me(base, token)).user.firstName;

  it('answers repeated reads from memory, and a profile change shows on the replica that made it at once', async () => {
    const a = await signUpVerified(s, 'cached@example.com', { firstName: 'Before' });
    const cache = s.system.services!.users;
    expect(await firstNameOn(s.url, a.accessToken)).toBe('Before');
    const hits = cache.hits;
    for (let i = 0; i < 5; i++) expect(await firstNameOn(s.url, a.accessToken)).toBe('Before');
    expect(cache.hits - hits).toBe(5);

    for (const name of ['One', 'Two', 'Three']) {
      expect((await s.request('PATCH', '/api/profile', { firstName: name }, bearer(a.accessToken))).status).toBe(200);
      // No wait and no retry: the acknowledged write is what the next read shows.
      expect(await firstNameOn(s.url, a.accessToken)).toBe(name);
      const profile = await s.request<{ firstName: string }>('GET', '/api/profile', undefined, bearer(a.accessToken));
      expect(profile.body.firstName).toBe(name);
    }
  });

  it('another replica that cached the row drops it when the projection announces the change', async () => {
    const a = await signUpVerified(s, 'elsewhere@example.com', { firstName: 'Old' });
    expect(await firstNameOn(other.url!, a.accessToken)).toBe('Old');
    expect(await firstNameOn(other.url!, a.accessToken)).toBe('Old');
    expect((await s.request('PATCH', '/api/profile', { firstName: 'New' }, bearer(a.accessToken))).status).toBe(200);
    // Carried by NOTIFY from the projection's transaction: a moment, never a TTL.
    await eventually(async () => (await firstNameOn(other.url!, a.accessToken)) === 'New', 1000, 'the other replica to show the change');
  });

  it('a replay of the users projection empties every cache (the rows may have changed)', async () => {
    const a = await signUpVerified(s, 'replayed@example.com', { firstName: 'Real' });
    // A row that differs from what the log says, read (and so cached) by both replicas.
    await s.system.knex('users').where({ email: 'replayed@example.com' }).update({ first_name: 'Tampered' });
    // A change of another field evicts the row everywhere; the next reads cache the tampered one.
    expect((await s.request('PATCH', '/api/profile', { lastName: 'Other' }, bearer(a.accessToken))).status).toBe(200);
    await eventually(async () => (await firstNameOn(other.url!, a.accessToken)) === 'Tampered', 1000, 'the other replica to drop its row');
    expect(await firstNameOn(s.url, a.accessToken)).toBe('Tampered');
    expect(await firstNameOn(other.url!, a.accessToken)).toBe('Tampered');
    await replayProjection(
      { knex: s.system.knex, store: s.system.store, connectionString: s.db.url, log: pino({ level: 'silent' }) },
      usersProjection,
    );
    await eventually(
      async () => (await firstNameOn(s.url, a.accessToken)) === 'Real' && (await firstNameOn(other.url!, a.accessToken)) === 'Real',
      2000,
      'both replicas to read the rebuilt table',
    );
  });

  it('keeps nothing while its notification connection is down, so no change can be missed', async () => {
    const a = await signUpVerified(s, 'outage@example.com', { firstName: 'Before' });
    const cache = other.services!.users;
    expect(await firstNameOn(other.url!, a.accessToken)).toBe('Before');
    expect(cache.size).toBeGreaterThan(0);
    // Cut every LISTEN connection of the test database (the other replica's among them).
    await s.system.knex.raw(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'`,
    );
    await eventually(() => cache.size === 0, 2000, 'the cache to be emptied when its connection dropped');
    expect((await s.request('PATCH', '/api/profile', { firstName: 'During' }, bearer(a.accessToken))).status).toBe(200);
    expect(await firstNameOn(other.url!, a.accessToken)).toBe('During');
    // Back after the reconnect: caching again, and evicted again by the next change.
    await eventually(
      async () => (await firstNameOn(other.url!, a.accessToken)) === 'During' && cache.size > 0,
      5000,
      'the cache to be live again',
    );
    expect((await s.request('PATCH', '/api/profile', { firstName: 'After' }, bearer(a.accessToken))).status).toBe(200);
    await eventually(
      async () => (await firstNameOn(other.url!, a.accessToken)) === 'After',
      1000,
      'the reconnected replica to see the change',
    );
  });

  it('a list total kept in memory follows sign-ups and role changes: at once where they were made, on the next notification elsewhere', async () => {
    await createAdmin(s.system.services!.cmd, 'counter-admin@example.com', TEST_PASSWORD);
    const admin = await login(s, 'counter-admin@example.com');
    const total = async (base: string, query: string) => {
      const r = await fetch(`${base}/api/users?${query}`, { headers: bearer(admin.accessToken) });
      expect(r.status).toBe(200);
      return ((await r.json()) as { meta: { total: number } }).meta.total;
    };
    const viewers = await total(s.url, 'role=viewer');
    expect(await total(other.url!, 'role=viewer')).toBe(viewers);
    const u = await signUpVerified(s, 'counted@example.com');
    expect(await total(s.url, 'role=viewer')).toBe(viewers + 1);
    await eventually(async () => (await total(other.url!, 'role=viewer')) === viewers + 1, 1000, 'the other replica to count the sign-up');
    const me = await s.request<{ user: { id: string } }>('GET', '/api/auth/me', undefined, bearer(u.accessToken));
    expect((await s.request('PUT', `/api/users/${me.body.user.id}/role`, { role: 'editor' }, bearer(admin.accessToken))).status).toBe(200);
    expect(await total(s.url, 'role=viewer')).toBe(viewers);
    expect(await total(s.url, 'role=editor')).toBeGreaterThanOrEqual(1);
    await eventually(async () => (await total(other.url!, 'role=viewer')) === viewers, 1000, 'the other replica to count the role change');
  });
});
