import { usersProjection } from '../../src/projections/users';
import { SessionId } from '../../src/events/user';
import { eventLog, iso, userRegistered, uuid } from '../helpers/events';
import { projectionSpec } from '../helpers/projection-spec';

// What a list's total reads: the counts that are not zero (a batch that folds a sign-up and a
// deactivation into one insert never makes the zero row that applying them one by one leaves).
const spec = projectionSpec(usersProjection, {
  queries: { counts: 'SELECT role, email_verified, is_deleted, n FROM users_stats WHERE n <> 0' },
});

const ADA = uuid('user', 1);
const BOB = uuid('user', 2);
const ADMIN = uuid('user', 9);

describe('users projection', () => {
  it('UserRegistered: a row with the account as signed up, created and updated by the user, counted', async () => {
    const log = eventLog();
    const e = log.user(ADA, userRegistered(ADA, { username: 'ada', profile: { theme: 'dark' } }));
    await spec.given(e).then({
      users: [
        {
          id: ADA,
          email: 'ada@example.com',
          username: 'ada',
          first_name: 'Ada',
          last_name: 'Lovelace',
          name: null,
          profile: { theme: 'dark' },
          role: 'viewer',
          email_verified: false,
          pending_email: null,
          is_deleted: false,
          last_login_at: null,
          created_by: ADA,
          updated_by: ADA,
          created_at: e.createdAt,
          updated_at: e.createdAt,
        },
      ],
      counts: [{ role: 'viewer', email_verified: false, is_deleted: false, n: '1' }],
    });
  });

  it('an account an admin created is created by the admin, and may start verified', async () => {
    const log = eventLog();
    await spec.given(log.user(ADA, userRegistered(ADA, { role: 'editor', emailVerified: true }), { actorId: ADMIN })).then({
      users: [{ role: 'editor', email_verified: true, created_by: ADMIN, updated_by: ADMIN }],
      counts: [{ role: 'editor', email_verified: true, is_deleted: false, n: '1' }],
    });
  });

  it('EmailVerified after sign-up: verified, and the count moves', async () => {
    const log = eventLog();
    const ada = log.user(ADA, userRegistered(ADA));
    const bob = log.user(BOB, userRegistered(BOB, { email: 'bob@example.com' }));
    const verified = log.user(ADA, { type: 'EmailVerified', data: { email: 'ada@example.com', previousEmail: null } });
    await spec.given(ada, bob, verified).then({
      users: [
        { id: ADA, email_verified: true, updated_at: verified.createdAt },
        { id: BOB, email_verified: false, updated_at: bob.createdAt },
      ],
      counts: [
        { role: 'viewer', email_verified: false, is_deleted: false, n: '1' },
        { role: 'viewer', email_verified: true, is_deleted: false, n: '1' },
      ],
    });
  });

  it('EmailChangeRequested: the new address waits as pending; EmailVerified of it replaces the email', async () => {
    const log = eventLog();
    const registered = log.user(ADA, userRegistered(ADA, { emailVerified: true }));
    const asked = log.user(ADA, {
      type: 'EmailChangeRequested',
      data: { oldEmail: 'ada@example.com', newEmail: 'ada@new.example', tokenId: 't1', tokenHash: 'h1', expiresAt: iso(3600) },
    });
    const confirmed = log.user(ADA, { type: 'EmailVerified', data: { email: 'ada@new.example', previousEmail: 'ada@example.com' } });
    await spec
      .given(registered, asked)
      .then({ users: [{ email: 'ada@example.com', pending_email: 'ada@new.example', updated_at: asked.createdAt }] });
    await spec.given(registered, asked, confirmed).then({
      users: [{ email: 'ada@new.example', pending_email: null, email_verified: true, updated_at: confirmed.createdAt }],
    });
  });

  it('UserLoggedIn: the last login moves; a login is not an edit (updated_at and updated_by stay)', async () => {
    const log = eventLog();
    const registered = log.user(ADA, userRegistered(ADA));
    const login = (n: number) =>
      log.user(ADA, { type: 'UserLoggedIn', data: { sessionId: uuid('session', n) as SessionId, deviceId: 'laptop', at: iso(100 + n) } });
    await spec
      .given(registered, login(1), login(2))
      .then({ users: [{ last_login_at: iso(102), updated_at: registered.createdAt, updated_by: ADA }] });
  });

  it('PasswordChanged and PasswordReset: only who touched the account when; never a hash', async () => {
    const log = eventLog();
    const registered = log.user(ADA, userRegistered(ADA));
    const changed = log.user(ADA, {
      type: 'PasswordChanged',
      data: { passwordHash: 'new-hash', at: iso(2), keepSessionId: null, endedSessionIds: [] },
    });
    const reset = log.user(
      ADA,
      { type: 'PasswordReset', data: { passwordHash: 'newer-hash', at: iso(3), endedSessionIds: [] } },
      { actorId: null },
    );
    await spec.given(registered, changed).then({ users: [{ email: 'ada@example.com', updated_at: changed.createdAt, updated_by: ADA }] });
    await spec
      .given(registered, changed, reset)
      .then({ users: [{ email: 'ada@example.com', updated_at: reset.createdAt, updated_by: ADA }] });
    const [row] = (await spec.given(registered, changed, reset).rows()).users;
    expect(Object.values(row)).not.toEqual(expect.arrayContaining([expect.stringMatching(/hash/)]));
  });

  it('ProfileUpdated: each changed field takes its new value, a cleared one null; by whoever edited', async () => {
    const log = eventLog();
    const registered = log.user(ADA, userRegistered(ADA, { profile: { theme: 'dark' } }));
    const edited = log.user(
      ADA,
      {
        type: 'ProfileUpdated',
        data: {
          changes: [
            { field: 'firstName', oldValue: 'Ada', newValue: 'Augusta' },
            { field: 'lastName', oldValue: 'Lovelace', newValue: null },
            { field: 'name', oldValue: null, newValue: 'Countess of Lovelace' },
            { field: 'username', oldValue: null, newValue: 'augusta' },
            { field: 'profile', oldValue: { theme: 'dark' }, newValue: { theme: 'light', lang: 'en' } },
          ],
        },
      },
      { actorId: ADMIN },
    );
    const profileCleared = log.user(ADA, {
      type: 'ProfileUpdated',
      data: { changes: [{ field: 'profile', oldValue: { theme: 'light', lang: 'en' }, newValue: null }] },
    });
    await spec.given(registered, edited).then({
      users: [
        {
          first_name: 'Augusta',
          last_name: null,
          name: 'Countess of Lovelace',
          username: 'augusta',
          profile: { theme: 'light', lang: 'en' },
          email: 'ada@example.com',
          updated_by: ADMIN,
          updated_at: edited.createdAt,
        },
      ],
    });
    await spec.given(registered, edited, profileCleared).then({ users: [{ first_name: 'Augusta', profile: null, updated_by: ADA }] });
  });

  it('UserDeactivated and UserRestored: the account is marked deleted and back, and counted so', async () => {
    const log = eventLog();
    const registered = log.user(ADA, userRegistered(ADA));
    const off = log.user(ADA, { type: 'UserDeactivated', data: { at: iso(2), by: 'admin', endedSessionIds: [] } }, { actorId: ADMIN });
    const back = log.user(ADA, { type: 'UserRestored', data: { at: iso(3) } }, { actorId: ADMIN });
    await spec.given(registered, off).then({
      users: [{ is_deleted: true, updated_by: ADMIN }],
      counts: [{ role: 'viewer', email_verified: false, is_deleted: true, n: '1' }],
    });
    await spec.given(registered, off, back).then({
      users: [{ is_deleted: false, updated_at: back.createdAt }],
      counts: [{ role: 'viewer', email_verified: false, is_deleted: false, n: '1' }],
    });
  });

  it('RoleChanged: the new role, counted under it', async () => {
    const log = eventLog();
    await spec
      .given(
        log.user(ADA, userRegistered(ADA)),
        log.user(BOB, userRegistered(BOB, { email: 'bob@example.com' })),
        log.user(ADA, { type: 'RoleChanged', data: { from: 'viewer', to: 'admin', at: iso(3), endedSessionIds: [] } }, { actorId: ADMIN }),
      )
      .then({
        users: [
          { id: ADA, role: 'admin', updated_by: ADMIN },
          { id: BOB, role: 'viewer', updated_by: BOB },
        ],
        counts: [
          { role: 'admin', email_verified: false, is_deleted: false, n: '1' },
          { role: 'viewer', email_verified: false, is_deleted: false, n: '1' },
        ],
      });
  });

  it('events it does not handle leave the row as it was', async () => {
    const log = eventLog();
    const registered = log.user(ADA, userRegistered(ADA));
    await spec
      .given(
        registered,
        log.user(ADA, {
          type: 'PasswordResetRequested',
          data: { email: 'ada@example.com', tokenId: 't', tokenHash: 'h', expiresAt: iso(60) },
        }),
        log.user(ADA, { type: 'RegistrationAttemptedOnExistingAccount', data: { email: 'ada@example.com', at: iso(3) } }),
      )
      .then({ users: [{ id: ADA, updated_at: registered.createdAt }] });
  });
});
