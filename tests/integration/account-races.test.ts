import { randomUUID } from 'node:crypto';
import { ORPHAN_CLAIM_SECONDS } from '../../src/commands/claim/decider';
import { claimValue, ownerOf, releaseValue } from '../../src/commands/claims';
import { CommandContext } from '../../src/commands/context';
import { DomainError } from '../../src/errors';
import { changePassword, deactivateSelf, registerUser, updateProfile } from '../../src/commands/user/account';
import { UserId } from '../../src/events/user';
import { PostgresEventStore } from '../../src/eventstore/postgres';
import { PasswordHasher } from '../../src/infra/password-hasher';
import { linkParams } from '../helpers/smtp';
import { bearer, startStack, TestStack, TEST_PASSWORD } from '../helpers/stack';
import { login, LoggedIn, signUpVerified } from '../helpers/flows';

type Json = Record<string, unknown>;

const meta = () => ({ correlationId: randomUUID(), ip: null, userAgent: 'test', actorId: null });

/** What a use-case throws, as its domain code (or the error itself when it is not a domain error). */
const codeOf = async (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'no error',
    (e: unknown) => (e instanceof DomainError ? e.code : String(e)),
  );

describe('one account, many requests at once (issue 12 items 3, 5, 11)', () => {
  let s: TestStack;
  let cmd: CommandContext;
  beforeAll(async () => {
    s = await startStack('accountraces');
    cmd = s.system.services!.cmd;
  });
  afterAll(async () => {
    await s?.stop();
  });

  const events = async (userId: string, type: string): Promise<number> =>
    (await s.system.knex.raw(`SELECT count(*)::int AS n FROM es_events WHERE stream_id = ? AND event_type = ?`, [`user-${userId}`, type]))
      .rows[0].n;
  const typesInOrder = async (userId: string): Promise<string[]> =>
    (await s.system.knex.raw(`SELECT event_type FROM es_events WHERE stream_id = ? ORDER BY stream_revision`, [`user-${userId}`])).rows.map(
      (r: { event_type: string }) => r.event_type,
    );
  const signsIn = async (email: string, password: string): Promise<boolean> =>
    (await s.request('POST', '/api/auth/login', { email, password })).status === 200;
  const profileOf = async (who: LoggedIn): Promise<Json> =>
    (await s.request<Json>('GET', '/api/profile', undefined, bearer(who.accessToken))).body;

  /**
   * The system's use-case context with one difference: right after the first password check
   * (its result already known), `between` runs to completion. A parallel request landing at that
   * exact moment, every time: the interleaving the parallel runs hit by chance.
   */
  const interleaved = (between: () => Promise<unknown>): CommandContext => {
    let pending = true;
    const hasher = Object.create(cmd.hasher) as PasswordHasher;
    hasher.verify = async (password, hash) => {
      const matches = await cmd.hasher.verify(password, hash);
      if (pending) {
        pending = false;
        await between();
      }
      return matches;
    };
    return { ...cmd, hasher };
  };
  const changePasswordOverHttp = (who: LoggedIn, newPassword: string) => async () => {
    const r = await s.request('PUT', '/api/profile/password', { currentPassword: TEST_PASSWORD, newPassword }, bearer(who.accessToken));
    expect(r.status).toBe(200);
  };

  describe('item 3: a current password checked against a hash that changed since is refused', () => {
    it('10 parallel password changes with the same current password: exactly one 200 and one PasswordChanged; only its new password works', async () => {
      const a = await signUpVerified(s, 'tenfold@example.com');
      const candidates = Array.from({ length: 10 }, (_, i) => `brand new passphrase number ${i}`);
      const answers = await Promise.all(
        candidates.map((newPassword) =>
          s.request('PUT', '/api/profile/password', { currentPassword: TEST_PASSWORD, newPassword }, bearer(a.accessToken)),
        ),
      );
      const won = answers.flatMap((r, i) => (r.status === 200 ? [i] : []));
      expect(won).toHaveLength(1);
      expect(answers.filter((r) => r.status === 400 && r.body.code === 'WRONG_PASSWORD')).toHaveLength(9);
      expect(await events(a.user.id, 'PasswordChanged')).toBe(1);
      for (const [i, password] of candidates.entries())
        expect([i, await signsIn('tenfold@example.com', password)]).toEqual([i, i === won[0]]);
      expect(await signsIn('tenfold@example.com', TEST_PASSWORD)).toBe(false);
    });

    it('a password change that lands between the check of the current password and the write refuses the second change', async () => {
      const a = await signUpVerified(s, 'between-pw@example.com');
      const other = await login(s, 'between-pw@example.com', TEST_PASSWORD, 'other-device');
      const ctx = interleaved(changePasswordOverHttp(other, 'the one that landed first'));
      const code = await codeOf(
        changePassword(
          ctx,
          { userId: a.user.id as UserId, sessionId: a.sessionId, currentPassword: TEST_PASSWORD, newPassword: 'the stale one lost' },
          meta(),
        ),
      );
      expect(code).toBe('WRONG_PASSWORD');
      expect(await events(a.user.id, 'PasswordChanged')).toBe(1);
      expect(await signsIn('between-pw@example.com', 'the one that landed first')).toBe(true);
      expect(await signsIn('between-pw@example.com', 'the stale one lost')).toBe(false);
    });

    it('an email change whose password check was overtaken by a password change writes nothing, not even the name sent with it', async () => {
      const a = await signUpVerified(s, 'between-mail@example.com', { firstName: 'Before' });
      const other = await login(s, 'between-mail@example.com', TEST_PASSWORD, 'other-device');
      const ctx = interleaved(changePasswordOverHttp(other, 'changed by the owner'));
      const code = await codeOf(
        updateProfile(ctx, a.user.id as UserId, { firstName: 'After', email: 'thief@example.com', currentPassword: TEST_PASSWORD }, meta()),
      );
      expect(code).toBe('WRONG_PASSWORD');
      const me = await login(s, 'between-mail@example.com', 'changed by the owner');
      expect(await profileOf(me)).toMatchObject({ firstName: 'Before', pendingEmail: null, email: 'between-mail@example.com' });
      expect(await events(a.user.id, 'EmailChangeRequested')).toBe(0);
      expect(await events(a.user.id, 'ProfileUpdated')).toBe(0);
    });

    it('a self-deactivation whose password check was overtaken by a password change is refused; the account stays', async () => {
      const a = await signUpVerified(s, 'between-off@example.com');
      const other = await login(s, 'between-off@example.com', TEST_PASSWORD, 'other-device');
      const ctx = interleaved(changePasswordOverHttp(other, 'owner keeps the account'));
      expect(await codeOf(deactivateSelf(ctx, a.user.id as UserId, TEST_PASSWORD, meta()))).toBe('WRONG_PASSWORD');
      expect(await events(a.user.id, 'UserDeactivated')).toBe(0);
      expect(await signsIn('between-off@example.com', 'owner keeps the account')).toBe(true);
    });

    it('10 parallel self-deactivations: exactly one 200 and one UserDeactivated', async () => {
      const a = await signUpVerified(s, 'tenfold-off@example.com');
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => s.request('DELETE', '/api/profile', { currentPassword: TEST_PASSWORD }, bearer(a.accessToken))),
      );
      expect(answers.filter((r) => r.status === 200)).toHaveLength(1);
      // The others find the account deactivated (403), or their token already refused (401).
      expect(answers.filter((r) => r.status !== 200).every((r) => [401, 403].includes(r.status))).toBe(true);
      expect(await events(a.user.id, 'UserDeactivated')).toBe(1);
    });

    it('parallel email changes and password changes with one password: no email change is decided after the password changed', async () => {
      const a = await signUpVerified(s, 'mixed-mail@example.com');
      // Eight: at most one password change and three other email changes land before any one of
      // them, so each retries at most four times, within the five attempts of handle().
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          i % 2
            ? s.request('PATCH', '/api/profile', { email: `moved-${i}@example.com`, currentPassword: TEST_PASSWORD }, bearer(a.accessToken))
            : s.request(
                'PUT',
                '/api/profile/password',
                { currentPassword: TEST_PASSWORD, newPassword: `replacement passphrase ${i}` },
                bearer(a.accessToken),
              ),
        ),
      );
      expect(answers.every((r) => r.status === 200 || (r.status === 400 && r.body.code === 'WRONG_PASSWORD'))).toBe(true);
      const types = await typesInOrder(a.user.id);
      expect(types.filter((t) => t === 'PasswordChanged')).toHaveLength(1);
      // Every email change that was recorded was checked against the password of its time.
      expect(types.slice(types.indexOf('PasswordChanged')).filter((t) => t === 'EmailChangeRequested')).toEqual([]);
      const emailAnswers = answers.filter((_, i) => i % 2);
      expect(emailAnswers.filter((r) => r.status === 200)).toHaveLength(types.filter((t) => t === 'EmailChangeRequested').length);
    });
  });

  describe('item 5: an email change neither squats the address nor tells whether it is taken', () => {
    it('asking for an address claims nothing: its owner can still sign up, and gets the verification link', async () => {
      const squatter = await signUpVerified(s, 'squatter@example.com');
      const asked = await s.request<Json>(
        'PATCH',
        '/api/profile',
        { email: 'victim@example.com', currentPassword: TEST_PASSWORD },
        bearer(squatter.accessToken),
      );
      expect(asked.status).toBe(200);
      expect(asked.body.user).toMatchObject({ email: 'squatter@example.com', pendingEmail: 'victim@example.com' });
      // The squatter's confirmation link went to the victim's mailbox; the victim signs up instead.
      const squattersLink = linkParams(await s.smtp.waitFor('victim@example.com', /confirm your new email/i));
      const victim = await signUpVerified(s, 'victim@example.com');
      expect(victim.user.email).toBe('victim@example.com');
      // Now the address is the victim's: the squatter's link cannot take it (only its mailbox could follow it anyway).
      const late = await s.request('POST', '/api/auth/verify-email', { token: squattersLink.token, email: 'victim@example.com' });
      expect(late.status).toBe(409);
      expect(await profileOf(squatter)).toMatchObject({ email: 'squatter@example.com' });
      expect(await ownerOf(s.system.store, 'email', 'victim@example.com')).toBe(victim.user.id);
    });

    it('answers a change to a taken address exactly like one to a free address; the owner of the taken one gets a notice, not a link', async () => {
      await signUpVerified(s, 'owner@example.com');
      const asker = await signUpVerified(s, 'asker@example.com', { firstName: 'Ask' });
      const taken = await s.request<Json>(
        'PATCH',
        '/api/profile',
        { firstName: 'Asked', email: 'owner@example.com', currentPassword: TEST_PASSWORD },
        bearer(asker.accessToken),
      );
      const takenUser = taken.body.user as Json;
      const other = await signUpVerified(s, 'other-asker@example.com', { firstName: 'Ask' });
      const free = await s.request<Json>(
        'PATCH',
        '/api/profile',
        { firstName: 'Asked', email: 'free-address@example.com', currentPassword: TEST_PASSWORD },
        bearer(other.accessToken),
      );
      const freeUser = free.body.user as Json;
      expect(taken.status).toBe(200);
      expect(free.status).toBe(taken.status);
      expect(free.body.message).toBe(taken.body.message);
      expect([takenUser.firstName, takenUser.pendingEmail]).toEqual(['Asked', 'owner@example.com']);
      expect([freeUser.firstName, freeUser.pendingEmail]).toEqual(['Asked', 'free-address@example.com']);
      await s.smtp.waitFor('owner@example.com', /tried to use your email/i);
      await s.smtp.waitFor('free-address@example.com', /confirm your new email/i);
      // Both requesters' old addresses were told alike.
      await s.smtp.waitFor('asker@example.com', /being changed/i);
      await s.smtp.waitFor('other-asker@example.com', /being changed/i);
      expect(s.smtp.to('owner@example.com').filter((m) => /confirm your new email/i.test(m.subject))).toEqual([]);
    });

    it('a refused profile edit changes nothing: the name sent with a taken username stays unapplied', async () => {
      await signUpVerified(s, 'holder@example.com', { username: 'holder' });
      const a = await signUpVerified(s, 'renamer@example.com', { firstName: 'Old' });
      const r = await s.request('PATCH', '/api/profile', { firstName: 'New', username: 'HOLDER' }, bearer(a.accessToken));
      expect(r.status).toBe(409);
      expect(await profileOf(a)).toMatchObject({ firstName: 'Old', username: null });
      const wrong = await s.request(
        'PATCH',
        '/api/profile',
        { firstName: 'New', email: 'x@example.com', currentPassword: 'not the password' },
        bearer(a.accessToken),
      );
      expect(wrong.status).toBe(400);
      expect(await profileOf(a)).toMatchObject({ firstName: 'Old', pendingEmail: null });
    });
  });

  describe('item 11: claims that lost or were left behind are given back', () => {
    it('parallel username changes leave only the name that stuck claimed; the others (and the old one) are free', async () => {
      const a = await signUpVerified(s, 'many-names@example.com', { username: 'original' });
      // Five: each write then retries at most four times, within the five attempts of handle().
      const names = Array.from({ length: 5 }, (_, i) => `name${i}`);
      const answers = await Promise.all(names.map((username) => s.request('PATCH', '/api/profile', { username }, bearer(a.accessToken))));
      expect(answers.every((r) => r.status === 200)).toBe(true);
      const kept = (await profileOf(a)).username as string;
      expect(names).toContain(kept);
      const b = await signUpVerified(s, 'takes-names@example.com');
      for (const name of [...names, 'original']) {
        const r = await s.request('PATCH', '/api/profile', { username: name }, bearer(b.accessToken));
        expect([name, r.status]).toEqual([name, name === kept ? 409 : 200]);
      }
    });

    it('a sign-up whose append fails gives its email and username claims back', async () => {
      // Past validation (a use-case called directly), jsonb refuses the NUL: the append fails after both claims.
      const failing = {
        email: 'unlucky@example.com',
        password: TEST_PASSWORD,
        username: 'unlucky',
        firstName: null,
        lastName: null,
        name: null,
        profile: { bad: 'x\u0000' },
      };
      expect(await codeOf(registerUser(cmd, failing, meta()))).not.toBe('no error');
      expect(await ownerOf(s.system.store, 'email', 'unlucky@example.com')).toBeNull();
      expect(await ownerOf(s.system.store, 'username', 'unlucky')).toBeNull();
      const again = await signUpVerified(s, 'unlucky@example.com', { username: 'unlucky' });
      expect(again.user).toMatchObject({ email: 'unlucky@example.com', username: 'unlucky' });
    });

    it('a value given back in another process is free here at once, though this process saw it taken', async () => {
      const elsewhere = PostgresEventStore.fromConfig({ connectionString: s.db.url, max: 2 });
      try {
        const [holder, next] = [randomUUID(), randomUUID()];
        expect((await claimValue(cmd.store, 'username', 'passed-on', holder, meta())).ok).toBe(true);
        expect(await claimValue(cmd.store, 'username', 'passed-on', next, meta())).toEqual({ ok: false, ownerId: holder });
        await releaseValue(elsewhere, 'username', 'passed-on', holder, meta());
        expect((await claimValue(cmd.store, 'username', 'passed-on', next, meta())).ok).toBe(true);
        expect(await ownerOf(elsewhere, 'username', 'passed-on')).toBe(next);
      } finally {
        await elsewhere.close();
      }
    });

    it(`a claim left by a crash before its owner's write is honoured for ${ORPHAN_CLAIM_SECONDS} s, then taken over`, async () => {
      const crashedAt = new Date();
      const at = (seconds: number): CommandContext => ({ ...cmd, clock: () => new Date(crashedAt.getTime() + seconds * 1000) });
      const input = {
        email: 'orphan@example.com',
        password: TEST_PASSWORD,
        username: null,
        firstName: null,
        lastName: null,
        name: null,
        profile: null,
      };
      // A sign-up that claimed the address and died before writing its user.
      expect((await claimValue(cmd.store, 'email', 'orphan@example.com', randomUUID(), meta(), crashedAt)).ok).toBe(true);
      expect((await registerUser(at(ORPHAN_CLAIM_SECONDS - 1), input, meta())).outcome).toBe('existing');
      const late = await registerUser(at(ORPHAN_CLAIM_SECONDS + 1), input, meta());
      expect(late.outcome).toBe('created');
      const link = linkParams(await s.smtp.waitFor('orphan@example.com', /verify/i));
      expect((await s.request('POST', '/api/auth/verify-email', { token: link.token, email: link.email })).status).toBe(200);
      expect(await signsIn('orphan@example.com', TEST_PASSWORD)).toBe(true);

      // A username an existing user claimed and never took (a rename that died before its write).
      const crashed = await signUpVerified(s, 'crashed-rename@example.com');
      expect((await claimValue(cmd.store, 'username', 'ghost', crashed.user.id, meta(), crashedAt)).ok).toBe(true);
      const b = await signUpVerified(s, 'wants-ghost@example.com');
      expect(await codeOf(updateProfile(at(ORPHAN_CLAIM_SECONDS - 1), b.user.id as UserId, { username: 'ghost' }, meta()))).toBe(
        'CONFLICT',
      );
      expect(await codeOf(updateProfile(at(ORPHAN_CLAIM_SECONDS + 1), b.user.id as UserId, { username: 'ghost' }, meta()))).toBe(
        'no error',
      );
      expect(await ownerOf(s.system.store, 'username', 'ghost')).toBe(b.user.id);
    });
  });
});
