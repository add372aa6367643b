import { profileHistoryProjection } from '../../src/projections/profile-history';
import { SessionId } from '../../src/events/user';
import { eventLog, iso, userRegistered, uuid } from '../helpers/events';
import { projectionSpec } from '../helpers/projection-spec';

const spec = projectionSpec(profileHistoryProjection);

const ADA = uuid('user', 1);
const ADMIN = uuid('user', 9);

describe('profile history projection', () => {
  it('UserRegistered: one entry, the account created, by whoever created it', async () => {
    const log = eventLog();
    const e = log.user(ADA, userRegistered(ADA), { actorId: ADMIN });
    await spec.given(e).then({
      profile_history: [
        {
          event_id: e.id,
          seq: 0,
          user_id: ADA,
          type: 'UserRegistered',
          field: 'account',
          old_value: null,
          new_value: 'created',
          actor_id: ADMIN,
          at: e.createdAt,
        },
      ],
    });
  });

  it('ProfileUpdated: one entry per changed field, in the order of the changes, with old and new values', async () => {
    const log = eventLog();
    const e = log.user(
      ADA,
      {
        type: 'ProfileUpdated',
        data: {
          changes: [
            { field: 'firstName', oldValue: 'Ada', newValue: 'Augusta' },
            { field: 'profile', oldValue: null, newValue: { theme: 'dark' } },
            { field: 'username', oldValue: 'ada', newValue: null },
          ],
        },
      },
      { actorId: ADA },
    );
    await spec.given(e).then({
      profile_history: [
        { event_id: e.id, seq: 0, type: 'ProfileUpdated', field: 'firstName', old_value: 'Ada', new_value: 'Augusta', actor_id: ADA },
        { event_id: e.id, seq: 1, type: 'ProfileUpdated', field: 'profile', old_value: null, new_value: { theme: 'dark' }, actor_id: ADA },
        { event_id: e.id, seq: 2, type: 'ProfileUpdated', field: 'username', old_value: 'ada', new_value: null, actor_id: ADA },
      ],
    });
  });

  it('EmailChangeRequested, then EmailVerified of the new address: pending, then the email moved from old to new', async () => {
    const log = eventLog();
    const asked = log.user(ADA, {
      type: 'EmailChangeRequested',
      data: { oldEmail: 'ada@example.com', newEmail: 'ada@new.example', tokenId: 't1', tokenHash: 'secret-hash', expiresAt: iso(3600) },
    });
    const confirmed = log.user(ADA, { type: 'EmailVerified', data: { email: 'ada@new.example', previousEmail: 'ada@example.com' } });
    await spec.given(asked, confirmed).then({
      profile_history: [
        { type: 'EmailChangeRequested', field: 'pendingEmail', old_value: null, new_value: 'ada@new.example' },
        { type: 'EmailVerified', field: 'email', old_value: 'ada@example.com', new_value: 'ada@new.example' },
      ],
    });
  });

  it('EmailVerified after sign-up: the address verified', async () => {
    const log = eventLog();
    await spec
      .given(log.user(ADA, { type: 'EmailVerified', data: { email: 'ada@example.com', previousEmail: null } }))
      .then({ profile_history: [{ field: 'emailVerified', old_value: false, new_value: true }] });
  });

  it('PasswordChanged and PasswordReset: listed, without values (not even hashes)', async () => {
    const log = eventLog();
    await spec
      .given(
        log.user(ADA, { type: 'PasswordChanged', data: { passwordHash: 'hash-1', at: iso(1), keepSessionId: null, endedSessionIds: [] } }),
        log.user(ADA, { type: 'PasswordReset', data: { passwordHash: 'hash-2', at: iso(2), endedSessionIds: [] } }),
      )
      .then({
        profile_history: [
          { type: 'PasswordChanged', field: 'password', old_value: null, new_value: null },
          { type: 'PasswordReset', field: 'password', old_value: null, new_value: null },
        ],
      });
  });

  it('RoleChanged, UserDeactivated, UserRestored: the role from and to, the account deleted and back, by the admin', async () => {
    const log = eventLog();
    const byAdmin = { actorId: ADMIN };
    await spec
      .given(
        log.user(ADA, { type: 'RoleChanged', data: { from: 'viewer', to: 'editor', at: iso(1), endedSessionIds: [] } }, byAdmin),
        log.user(ADA, { type: 'UserDeactivated', data: { at: iso(2), by: 'admin', endedSessionIds: [] } }, byAdmin),
        log.user(ADA, { type: 'UserRestored', data: { at: iso(3) } }, byAdmin),
      )
      .then({
        profile_history: [
          { type: 'RoleChanged', field: 'role', old_value: 'viewer', new_value: 'editor', actor_id: ADMIN, at: iso(1) },
          { type: 'UserDeactivated', field: 'isDeleted', old_value: false, new_value: true, actor_id: ADMIN, at: iso(2) },
          { type: 'UserRestored', field: 'isDeleted', old_value: true, new_value: false, actor_id: ADMIN, at: iso(3) },
        ],
      });
  });

  it('logins and other events that change no profile field leave no entry', async () => {
    const log = eventLog();
    await spec
      .given(
        log.user(ADA, { type: 'UserLoggedIn', data: { sessionId: uuid('session', 1) as SessionId, deviceId: 'laptop', at: iso(1) } }),
        log.user(ADA, {
          type: 'PasswordResetRequested',
          data: { email: 'ada@example.com', tokenId: 't', tokenHash: 'h', expiresAt: iso(60) },
        }),
      )
      .then({ profile_history: [] });
  });
});
