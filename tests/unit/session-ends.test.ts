import { typesOf } from '../../src/events/registry';
import { SESSION_ENDING_USER_EVENTS, SessionsEnded, sessionsEndedBy } from '../../src/events/session-ends';
import { SessionId, UserEvent, UserId } from '../../src/events/user';

const sid = (n: number) => `00000000-0000-4000-8000-00000000000${n}` as SessionId;
const AT = '2030-01-01T00:00:00.000Z';
const token = { tokenId: 't', tokenHash: 'h', expiresAt: AT };

/** One event of every user event type (a new type does not compile here until it has one). */
const SAMPLES: { [T in UserEvent['type']]: Extract<UserEvent, { type: T }> } = {
  UserRegistered: {
    type: 'UserRegistered',
    data: {
      userId: 'u1' as UserId,
      email: 'a@example.com',
      username: null,
      firstName: null,
      lastName: null,
      name: null,
      profile: null,
      role: 'viewer',
      passwordHash: 'x',
      emailVerified: false,
      registeredAt: AT,
    },
  },
  EmailVerificationRequested: { type: 'EmailVerificationRequested', data: { email: 'a@example.com', ...token, purpose: 'registration' } },
  EmailVerified: { type: 'EmailVerified', data: { email: 'a@example.com', previousEmail: null } },
  RegistrationAttemptedOnExistingAccount: { type: 'RegistrationAttemptedOnExistingAccount', data: { email: 'a@example.com', at: AT } },
  UserLoggedIn: { type: 'UserLoggedIn', data: { sessionId: sid(1), deviceId: 'laptop', at: AT } },
  SessionEnded: { type: 'SessionEnded', data: { sessionId: sid(1), reason: 'evicted' } },
  AllSessionsEnded: { type: 'AllSessionsEnded', data: { reason: 'revoked', at: AT, endedSessionIds: [sid(1), sid(2)] } },
  PasswordChanged: {
    type: 'PasswordChanged',
    data: { passwordHash: 'x', at: AT, keepSessionId: sid(3), endedSessionIds: [sid(1), sid(2)] },
  },
  PasswordResetRequested: { type: 'PasswordResetRequested', data: { email: 'a@example.com', ...token } },
  PasswordReset: { type: 'PasswordReset', data: { passwordHash: 'x', at: AT, endedSessionIds: [sid(4)] } },
  ProfileUpdated: { type: 'ProfileUpdated', data: { changes: [{ field: 'firstName', oldValue: null, newValue: 'Ada' }] } },
  EmailChangeRequested: { type: 'EmailChangeRequested', data: { oldEmail: 'a@example.com', newEmail: 'b@example.com', ...token } },
  UserDeactivated: { type: 'UserDeactivated', data: { at: AT, by: 'admin', endedSessionIds: [sid(5)] } },
  UserRestored: { type: 'UserRestored', data: { at: AT } },
  RoleChanged: { type: 'RoleChanged', data: { from: 'editor', to: 'viewer', at: AT, endedSessionIds: [] } },
};

describe('which sessions a user event ends, and why', () => {
  it('every user event type: the sessions it names and the reason its sessions end with, or none', () => {
    const expected: { [T in UserEvent['type']]: SessionsEnded | null } = {
      UserRegistered: null,
      EmailVerificationRequested: null,
      EmailVerified: null,
      RegistrationAttemptedOnExistingAccount: null,
      // A login past the limit ends the oldest session with a SessionEnded of its own.
      UserLoggedIn: null,
      SessionEnded: { sessionIds: [sid(1)], reason: 'evicted' },
      // The reason the event gives: an admin's revocation is not a logout-all.
      AllSessionsEnded: { sessionIds: [sid(1), sid(2)], reason: 'revoked' },
      // The session that changed the password stays; it is not among those ended.
      PasswordChanged: { sessionIds: [sid(1), sid(2)], reason: 'password-changed' },
      PasswordResetRequested: null,
      PasswordReset: { sessionIds: [sid(4)], reason: 'password-reset' },
      ProfileUpdated: null,
      EmailChangeRequested: null,
      UserDeactivated: { sessionIds: [sid(5)], reason: 'deactivated' },
      UserRestored: null,
      RoleChanged: { sessionIds: [], reason: 'role-changed' },
    };
    const types = typesOf('user');
    expect(new Set(Object.keys(SAMPLES))).toEqual(new Set(types));
    for (const t of types) expect([t, sessionsEndedBy(SAMPLES[t])]).toEqual([t, expected[t]]);
  });

  it('SESSION_ENDING_USER_EVENTS, which the sessions list, the revoke job and the revocation rebuild listen to, are exactly the types that end sessions', () => {
    const ending = typesOf('user').filter((t) => sessionsEndedBy(SAMPLES[t]) !== null);
    expect([...SESSION_ENDING_USER_EVENTS].sort()).toEqual(ending.sort());
  });
});
