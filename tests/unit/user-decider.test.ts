import { CheckedPassword, userDecider, UserCommand } from '../../src/commands/user/decider';
import { OneTimeToken, SessionId, UserEvent, UserId } from '../../src/events/user';
import { deciderSpec } from './decider-spec';

const given = deciderSpec(userDecider);

type EventOf<T extends UserEvent['type']> = Extract<UserEvent, { type: T }>;
type CommandOf<T extends UserCommand['type']> = Extract<UserCommand, { type: T }>;

const USER_ID = '6f1c1f52-0d7e-4a39-9a43-0a4c3f2f9b10' as UserId;
const EMAIL = 'alice@example.com';
const NEW_EMAIL = 'alice@new.example.com';
const T0 = Date.parse('2030-01-01T00:00:00.000Z');
/** Minutes after T0, as the ISO instants the commands carry. */
const at = (minutes: number): string => new Date(T0 + minutes * 60_000).toISOString();
const sid = (n: number): SessionId => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}` as SessionId;

const token = (name: string, expiresAtMinute = 24 * 60): OneTimeToken => ({
  tokenId: `${name}-id`,
  tokenHash: `${name}-hash`,
  expiresAt: at(expiresAtMinute),
});

// Events

const registered = (data: Partial<EventOf<'UserRegistered'>['data']> = {}): EventOf<'UserRegistered'> => ({
  type: 'UserRegistered',
  data: {
    userId: USER_ID,
    email: EMAIL,
    username: 'alice',
    firstName: 'Alice',
    lastName: 'Liddell',
    name: null,
    profile: { city: 'Oxford' },
    role: 'viewer',
    passwordHash: 'hash-1',
    emailVerified: true,
    registeredAt: at(0),
    ...data,
  },
});
const unverified = (): EventOf<'UserRegistered'> => registered({ emailVerified: false });
const verificationRequested = (t: OneTimeToken, email = EMAIL): EventOf<'EmailVerificationRequested'> => ({
  type: 'EmailVerificationRequested',
  data: { email, ...t, purpose: 'registration' },
});
const loggedIn = (n: number, minute = n): EventOf<'UserLoggedIn'> => ({
  type: 'UserLoggedIn',
  data: { sessionId: sid(n), deviceId: `device-${n}`, at: at(minute) },
});
const sessionEnded = (n: number, reason: EventOf<'SessionEnded'>['data']['reason']): EventOf<'SessionEnded'> => ({
  type: 'SessionEnded',
  data: { sessionId: sid(n), reason },
});
const resetRequested = (t: OneTimeToken): EventOf<'PasswordResetRequested'> => ({
  type: 'PasswordResetRequested',
  data: { email: EMAIL, ...t },
});
const deactivated = (minute = 100): EventOf<'UserDeactivated'> => ({
  type: 'UserDeactivated',
  data: { at: at(minute), by: 'admin', endedSessionIds: [] },
});
/** The password changed elsewhere (another request of the same user) to `hash`. */
const passwordChanged = (hash: string, minute = 40): EventOf<'PasswordChanged'> => ({
  type: 'PasswordChanged',
  data: { passwordHash: hash, at: at(minute), keepSessionId: null, endedSessionIds: [] },
});

/** The current password as checked by the use-case: right, against the hash the account had then. */
const checked = (against = 'hash-1', matches = true): CheckedPassword => ({ matches, against });

// Commands

const register = (verification: OneTimeToken | null): CommandOf<'RegisterUser'> => ({
  type: 'RegisterUser',
  userId: USER_ID,
  email: EMAIL,
  username: 'alice',
  firstName: 'Alice',
  lastName: 'Liddell',
  name: null,
  profile: { city: 'Oxford' },
  role: 'viewer',
  passwordHash: 'hash-1',
  verification,
  now: at(0),
});
const verify = (t: OneTimeToken, email = EMAIL, minute = 10): CommandOf<'VerifyEmail'> => ({
  type: 'VerifyEmail',
  email,
  tokenHash: t.tokenHash,
  now: at(minute),
});
const login = (n: number, opts: Partial<CommandOf<'RecordLogin'>> = {}): CommandOf<'RecordLogin'> => ({
  type: 'RecordLogin',
  sessionId: sid(n),
  deviceId: `device-${n}`,
  passwordMatches: true,
  requireVerifiedEmail: true,
  maxSessions: 5,
  now: at(n),
  ...opts,
});
const changePassword = (opts: Partial<CommandOf<'ChangePassword'>> = {}): CommandOf<'ChangePassword'> => ({
  type: 'ChangePassword',
  currentPassword: checked(),
  passwordHash: 'hash-2',
  keepSessionId: null,
  now: at(50),
  ...opts,
});
const resetPassword = (t: OneTimeToken, minute = 20): CommandOf<'ResetPassword'> => ({
  type: 'ResetPassword',
  tokenHash: t.tokenHash,
  passwordHash: 'hash-reset',
  now: at(minute),
});

describe('user decider', () => {
  describe('RegisterUser', () => {
    it('with verification on: registers an unverified user and requests verification of the address', () => {
      const t = token('verify');
      given([])
        .when(register(t))
        .then([
          unverified(),
          {
            type: 'EmailVerificationRequested',
            data: { email: EMAIL, tokenId: t.tokenId, tokenHash: t.tokenHash, expiresAt: t.expiresAt, purpose: 'registration' },
          },
        ]);
    });

    it('with verification off: registers a verified user and sends nothing', () => {
      given([]).when(register(null)).then([registered()]);
    });

    it('refuses a second registration on the same stream', () => {
      given([registered()]).when(register(null)).then('CONFLICT');
    });
  });

  describe('RequestEmailVerification', () => {
    const t = token('again');
    const request: UserCommand = { type: 'RequestEmailVerification', token: t };

    it('sends a new link to an unverified user', () => {
      given([unverified()])
        .when(request)
        .then([verificationRequested(t)]);
    });

    it('sends nothing to a verified, deactivated or unknown user', () => {
      given([registered()]).when(request).then([]);
      given([unverified(), deactivated()]).when(request).then([]);
      given([]).when(request).then([]);
    });

    it('records a retried request once, and never an older link over a newer one (jobs run again, and out of order)', () => {
      const sent = given([unverified()])
        .when(request)
        .then([verificationRequested(t)]);
      given(sent).when(request).then([]);
      const newer = token('newer', 48 * 60);
      given([...sent, verificationRequested(newer)])
        .when(request)
        .then([]);
      given(sent)
        .when({ type: 'RequestEmailVerification', token: newer })
        .then([verificationRequested(newer)]);
    });
  });

  describe('VerifyEmail', () => {
    const t = token('verify', 60);
    const pending = [unverified(), verificationRequested(t)];

    it('verifies the address with the right token and email', () => {
      given(pending)
        .when(verify(t))
        .then([{ type: 'EmailVerified', data: { email: EMAIL, previousEmail: null } }]);
    });

    it('refuses a wrong token', () => {
      given(pending)
        .when(verify(token('forged')))
        .then('INVALID_TOKEN');
    });

    it('refuses the right token with another email', () => {
      given(pending).when(verify(t, 'mallory@example.com')).then('INVALID_TOKEN');
    });

    it('refuses an expired token (at and after its expiry)', () => {
      given(pending)
        .when(verify(t, EMAIL, 59))
        .then([{ type: 'EmailVerified', data: { email: EMAIL, previousEmail: null } }]);
      given(pending)
        .when(verify(t, EMAIL, 60))
        .then('INVALID_TOKEN');
      given(pending)
        .when(verify(t, EMAIL, 61))
        .then('INVALID_TOKEN');
    });

    it('refuses a token superseded by a newer EmailVerificationRequested, and accepts the newer one', () => {
      const newer = token('newer', 120);
      const history = [...pending, verificationRequested(newer)];
      given(history).when(verify(t)).then('INVALID_TOKEN');
      given(history)
        .when(verify(newer))
        .then([{ type: 'EmailVerified', data: { email: EMAIL, previousEmail: null } }]);
    });

    it('is single use: the same link a second time is refused', () => {
      const afterFirst = given(pending)
        .when(verify(t))
        .then([{ type: 'EmailVerified', data: { email: EMAIL, previousEmail: null } }]);
      given(afterFirst)
        .when(verify(t, EMAIL, 11))
        .then('INVALID_TOKEN');
    });

    it('refuses when nothing was requested or the user is unknown', () => {
      given([unverified()]).when(verify(t)).then('INVALID_TOKEN');
      given([]).when(verify(t)).then('INVALID_TOKEN');
    });
  });

  describe('NoteRegistrationAttempt', () => {
    const attempt = (minute: number): UserCommand => ({ type: 'NoteRegistrationAttempt', email: EMAIL, now: at(minute) });
    const notice = (minute: number): EventOf<'RegistrationAttemptedOnExistingAccount'> => ({
      type: 'RegistrationAttemptedOnExistingAccount',
      data: { email: EMAIL, at: at(minute) },
    });

    it('emits at most one notice per 10 minutes', () => {
      let history: UserEvent[] = [registered()];
      history = given(history)
        .when(attempt(0))
        .then([notice(0)]);
      history = given(history).when(attempt(1)).then([]);
      history = given(history).when(attempt(9.99)).then([]);
      history = given(history)
        .when(attempt(10))
        .then([notice(10)]);
      history = given(history).when(attempt(15)).then([]);
      given(history)
        .when(attempt(21))
        .then([notice(21)]);
    });

    it('notes nothing for an account that does not exist', () => {
      given([]).when(attempt(0)).then([]);
    });
  });

  describe('RecordLogin', () => {
    it('records a login as a new session', () => {
      given([registered()])
        .when(login(1))
        .then([loggedIn(1)]);
    });

    it('answers INVALID_CREDENTIALS for a wrong password, an unknown user and a deactivated account alike', () => {
      given([registered()])
        .when(login(1, { passwordMatches: false }))
        .then('INVALID_CREDENTIALS');
      given([]).when(login(1)).then('INVALID_CREDENTIALS');
      given([registered(), deactivated()]).when(login(1)).then('INVALID_CREDENTIALS');
    });

    it('refuses an unverified email only when verification is required', () => {
      given([unverified()])
        .when(login(1, { requireVerifiedEmail: true }))
        .then('EMAIL_NOT_VERIFIED');
      given([unverified()])
        .when(login(1, { requireVerifiedEmail: false }))
        .then([loggedIn(1)]);
    });

    it('does not reveal that an address is unverified to someone with the wrong password', () => {
      given([unverified()])
        .when(login(1, { passwordMatches: false }))
        .then('INVALID_CREDENTIALS');
    });

    it('below the cap: no eviction', () => {
      given([registered(), loggedIn(1), loggedIn(2), loggedIn(3), loggedIn(4)])
        .when(login(5))
        .then([loggedIn(5)]);
    });

    it('at the cap (5 live sessions, max 5): logs in and evicts the OLDEST live session', () => {
      // Session 1 already ended, so the oldest live one is session 2, not the first ever started.
      const history = [
        registered(),
        loggedIn(1),
        loggedIn(2),
        loggedIn(3),
        sessionEnded(1, 'logout'),
        loggedIn(4),
        loggedIn(5),
        loggedIn(6),
      ];
      given(history)
        .when(login(7))
        .then([loggedIn(7), sessionEnded(2, 'evicted')]);
    });

    it('evicts by start time, not by position in the list', () => {
      const history = [registered(), loggedIn(1, 10), loggedIn(2, 3), loggedIn(3, 11), loggedIn(4, 12), loggedIn(5, 13)];
      given(history)
        .when(login(6, { now: at(20) }))
        .then([loggedIn(6, 20), sessionEnded(2, 'evicted')]);
    });

    it('over the cap (the cap was lowered): evicts as many oldest sessions as needed', () => {
      const history = [registered(), loggedIn(1), loggedIn(2), loggedIn(3), loggedIn(4), loggedIn(5)];
      given(history)
        .when(login(6, { maxSessions: 3 }))
        .then([loggedIn(6), sessionEnded(1, 'evicted'), sessionEnded(2, 'evicted'), sessionEnded(3, 'evicted')]);
    });

    it('the evicted session no longer counts: the next login evicts the next oldest', () => {
      let history: UserEvent[] = [registered(), loggedIn(1), loggedIn(2), loggedIn(3), loggedIn(4), loggedIn(5)];
      history = given(history)
        .when(login(6))
        .then([loggedIn(6), sessionEnded(1, 'evicted')]);
      given(history)
        .when(login(7))
        .then([loggedIn(7), sessionEnded(2, 'evicted')]);
    });
  });

  describe('EndSession', () => {
    it('ends a live session', () => {
      given([registered(), loggedIn(1)])
        .when({ type: 'EndSession', sessionId: sid(1), reason: 'logout' })
        .then([sessionEnded(1, 'logout')]);
    });

    it('is idempotent: an unknown or already ended session emits nothing', () => {
      given([registered(), loggedIn(1), sessionEnded(1, 'logout')])
        .when({ type: 'EndSession', sessionId: sid(1), reason: 'logout' })
        .then([]);
      given([registered()])
        .when({ type: 'EndSession', sessionId: sid(9), reason: 'revoked' })
        .then([]);
    });
  });

  describe('EndAllSessions', () => {
    const endAll: UserCommand = { type: 'EndAllSessions', reason: 'logout-all', now: at(30) };

    it('ends every live session', () => {
      const history = given([registered(), loggedIn(1), loggedIn(2), loggedIn(3), sessionEnded(2, 'logout')])
        .when(endAll)
        .then([{ type: 'AllSessionsEnded', data: { reason: 'logout-all', at: at(30), endedSessionIds: [sid(1), sid(3)] } }]);
      // Nothing is live any more: five new logins fit without an eviction.
      given([...history, loggedIn(31), loggedIn(32), loggedIn(33), loggedIn(34)])
        .when(login(35))
        .then([loggedIn(35)]);
    });

    it('refuses an unknown or deactivated user', () => {
      given([]).when(endAll).then('NOT_FOUND');
      given([registered(), deactivated()]).when(endAll).then('ACCOUNT_DEACTIVATED');
    });
  });

  describe('ChangePassword', () => {
    const live = [registered(), loggedIn(1), loggedIn(2), loggedIn(3)];

    it('changes the password and ends every session but the one kept', () => {
      given(live)
        .when(changePassword({ keepSessionId: sid(2) }))
        .then([
          {
            type: 'PasswordChanged',
            data: { passwordHash: 'hash-2', at: at(50), keepSessionId: sid(2), endedSessionIds: [sid(1), sid(3)] },
          },
        ]);
    });

    it('ends every session when none is kept', () => {
      given(live)
        .when(changePassword())
        .then([
          {
            type: 'PasswordChanged',
            data: { passwordHash: 'hash-2', at: at(50), keepSessionId: null, endedSessionIds: [sid(1), sid(2), sid(3)] },
          },
        ]);
    });

    it('keeps only the kept session live afterwards', () => {
      const history = given(live)
        .when(changePassword({ keepSessionId: sid(2) }))
        .decided();
      given([...live, ...history])
        .when(changePassword({ currentPassword: checked('hash-2'), keepSessionId: sid(2), now: at(60), passwordHash: 'hash-3' }))
        .then([{ type: 'PasswordChanged', data: { passwordHash: 'hash-3', at: at(60), keepSessionId: sid(2), endedSessionIds: [] } }]);
    });

    it('refuses a wrong current password', () => {
      given(live)
        .when(changePassword({ currentPassword: checked('hash-1', false) }))
        .then('WRONG_PASSWORD');
    });

    it('refuses a current password checked against a hash that has been replaced since (a parallel change; a retry after one)', () => {
      // Ten parallel changes all checked "hash-1"; the first to land made it "hash-2": the others are refused.
      given([...live, passwordChanged('hash-2')])
        .when(changePassword())
        .then('WRONG_PASSWORD');
      given([...live, { type: 'PasswordReset', data: { passwordHash: 'hash-reset', at: at(45), endedSessionIds: [] } }])
        .when(changePassword())
        .then('WRONG_PASSWORD');
      // Checked against the hash the account has now, the same request goes through.
      given([...live, passwordChanged('hash-2')])
        .when(changePassword({ currentPassword: checked('hash-2') }))
        .then([{ type: 'PasswordChanged', data: { passwordHash: 'hash-2', at: at(50), keepSessionId: null, endedSessionIds: [] } }]);
    });

    it('refuses an unknown or deactivated user', () => {
      given([]).when(changePassword()).then('NOT_FOUND');
      given([registered(), deactivated()]).when(changePassword()).then('ACCOUNT_DEACTIVATED');
    });

    it('voids a pending reset token: ResetPassword afterwards is INVALID_TOKEN', () => {
      const t = token('reset', 30);
      const history = given([registered(), resetRequested(t)])
        .when(changePassword({ now: at(5) }))
        .then([{ type: 'PasswordChanged', data: { passwordHash: 'hash-2', at: at(5), keepSessionId: null, endedSessionIds: [] } }]);
      given(history).when(resetPassword(t, 10)).then('INVALID_TOKEN');
    });
  });

  describe('RequestPasswordReset', () => {
    const t = token('reset', 30);

    it('records a reset request for the account address', () => {
      given([registered()])
        .when({ type: 'RequestPasswordReset', token: t })
        .then([resetRequested(t)]);
    });

    it('records nothing for an unknown or deactivated account', () => {
      given([]).when({ type: 'RequestPasswordReset', token: t }).then([]);
      given([registered(), deactivated()]).when({ type: 'RequestPasswordReset', token: t }).then([]);
    });

    it('records a retried request once, never an older link over a newer one, and never brings a used link back', () => {
      const asked = given([registered()])
        .when({ type: 'RequestPasswordReset', token: t })
        .then([resetRequested(t)]);
      given(asked).when({ type: 'RequestPasswordReset', token: t }).then([]);
      const newer = token('reset-2', 40);
      given([...asked, resetRequested(newer)])
        .when({ type: 'RequestPasswordReset', token: t })
        .then([]);
      // The link was used; the job that recorded it runs again (its acknowledgement was lost): nothing.
      const used = given(asked)
        .when(resetPassword(t))
        .then([{ type: 'PasswordReset', data: { passwordHash: 'hash-reset', at: at(20), endedSessionIds: [] } }]);
      given(used).when({ type: 'RequestPasswordReset', token: t }).then([]);
      given(used).when(resetPassword(t, 21)).then('INVALID_TOKEN');
      // A new request afterwards is recorded as usual.
      given(used)
        .when({ type: 'RequestPasswordReset', token: newer })
        .then([resetRequested(newer)]);
    });
  });

  describe('ResetPassword', () => {
    const t = token('reset', 30);

    it('sets the new password and ends every session', () => {
      given([registered(), loggedIn(1), loggedIn(2), resetRequested(t)])
        .when(resetPassword(t))
        .then([{ type: 'PasswordReset', data: { passwordHash: 'hash-reset', at: at(20), endedSessionIds: [sid(1), sid(2)] } }]);
    });

    it('works once', () => {
      const history = given([registered(), resetRequested(t)])
        .when(resetPassword(t))
        .then([{ type: 'PasswordReset', data: { passwordHash: 'hash-reset', at: at(20), endedSessionIds: [] } }]);
      given(history).when(resetPassword(t, 21)).then('INVALID_TOKEN');
    });

    it('a newer PasswordResetRequested voids the older token', () => {
      const newer = token('reset-2', 40);
      const history = [registered(), resetRequested(t), resetRequested(newer)];
      given(history).when(resetPassword(t)).then('INVALID_TOKEN');
      given(history)
        .when(resetPassword(newer))
        .then([{ type: 'PasswordReset', data: { passwordHash: 'hash-reset', at: at(20), endedSessionIds: [] } }]);
    });

    it('refuses a wrong, expired or never requested token', () => {
      given([registered(), resetRequested(t)])
        .when(resetPassword(token('forged')))
        .then('INVALID_TOKEN');
      given([registered(), resetRequested(t)])
        .when(resetPassword(t, 30))
        .then('INVALID_TOKEN');
      given([registered()]).when(resetPassword(t)).then('INVALID_TOKEN');
    });

    it('refuses a deactivated or unknown account', () => {
      given([registered(), resetRequested(t), deactivated(10)])
        .when(resetPassword(t))
        .then('INVALID_TOKEN');
      given([]).when(resetPassword(t)).then('INVALID_TOKEN');
    });
  });

  describe('UpdateProfile', () => {
    const update = (changes: CommandOf<'UpdateProfile'>['changes']): UserCommand => ({ type: 'UpdateProfile', changes, emailChange: null });

    it('emits only the fields that changed, with old and new values', () => {
      given([registered()])
        .when(update({ firstName: 'Alicia', lastName: 'Liddell', name: 'Ali', username: undefined, profile: { city: 'London' } }))
        .then([
          {
            type: 'ProfileUpdated',
            data: {
              changes: [
                { field: 'firstName', oldValue: 'Alice', newValue: 'Alicia' },
                { field: 'name', oldValue: null, newValue: 'Ali' },
                { field: 'profile', oldValue: { city: 'Oxford' }, newValue: { city: 'London' } },
              ],
            },
          },
        ]);
    });

    it('clearing a field records the old value and null', () => {
      given([registered()])
        .when(update({ username: null }))
        .then([{ type: 'ProfileUpdated', data: { changes: [{ field: 'username', oldValue: 'alice', newValue: null }] } }]);
    });

    it('emits nothing when nothing changed', () => {
      given([registered()]).when(update({})).then([]);
      given([registered()])
        .when(update({ firstName: 'Alice', lastName: 'Liddell', name: null, username: 'alice', profile: { city: 'Oxford' } }))
        .then([]);
    });

    it('the new values are the state afterwards: the same update again emits nothing', () => {
      const history = given([registered()])
        .when(update({ lastName: 'Hargreaves', profile: { city: 'London', langs: ['en'] } }))
        .decided();
      given([registered(), ...history])
        .when(update({ lastName: 'Hargreaves', profile: { city: 'London', langs: ['en'] } }))
        .then([]);
    });

    it('a profile object with the same keys in another order is no change', () => {
      // Events are stored as jsonb, which reorders object keys: a stream read back holds
      // { ab, zeta } for a profile the client sent (and sends again) as { zeta, ab }.
      given([registered({ profile: { ab: 2, zeta: 1 } })])
        .when(update({ profile: { zeta: 1, ab: 2 } }))
        .then([]);
      given([registered({ profile: { links: { gh: 'a', web: 'b' }, tags: ['x'] } })])
        .when(update({ profile: { tags: ['x'], links: { web: 'b', gh: 'a' } } }))
        .then([]);
    });

    it('a reordered array is a change', () => {
      given([registered({ profile: { tags: ['x', 'y'] } })])
        .when(update({ profile: { tags: ['y', 'x'] } }))
        .then([
          {
            type: 'ProfileUpdated',
            data: { changes: [{ field: 'profile', oldValue: { tags: ['x', 'y'] }, newValue: { tags: ['y', 'x'] } }] },
          },
        ]);
    });

    it('refuses an unknown or deactivated user', () => {
      given([])
        .when(update({ firstName: 'X' }))
        .then('NOT_FOUND');
      given([registered(), deactivated()])
        .when(update({ firstName: 'X' }))
        .then('ACCOUNT_DEACTIVATED');
    });
  });

  describe('UpdateProfile with a change of email', () => {
    const t = token('change', 60);
    const change = (
      currentPassword: CheckedPassword,
      newEmail = NEW_EMAIL,
      changes: CommandOf<'UpdateProfile'>['changes'] = {},
    ): UserCommand => ({
      type: 'UpdateProfile',
      changes,
      emailChange: { newEmail, currentPassword, token: t },
    });
    const changeRequested: EventOf<'EmailChangeRequested'> = {
      type: 'EmailChangeRequested',
      data: { oldEmail: EMAIL, newEmail: NEW_EMAIL, tokenId: t.tokenId, tokenHash: t.tokenHash, expiresAt: t.expiresAt },
    };

    it('needs the current password', () => {
      given([registered()])
        .when(change(checked('hash-1', false)))
        .then('WRONG_PASSWORD');
    });

    it('refuses a current password checked against a hash that has been replaced since', () => {
      given([registered(), passwordChanged('hash-2')])
        .when(change(checked('hash-1')))
        .then('WRONG_PASSWORD');
    });

    it('records the pending change', () => {
      given([registered()]).when(change(checked())).then([changeRequested]);
    });

    it('decides the other changes with it: both, or (password refused) neither', () => {
      given([registered()])
        .when(change(checked(), NEW_EMAIL, { firstName: 'Alicia' }))
        .then([
          { type: 'ProfileUpdated', data: { changes: [{ field: 'firstName', oldValue: 'Alice', newValue: 'Alicia' }] } },
          changeRequested,
        ]);
      given([registered()])
        .when(change(checked('hash-1', false), NEW_EMAIL, { firstName: 'Alicia' }))
        .then('WRONG_PASSWORD');
      given([registered(), passwordChanged('hash-2')])
        .when(change(checked('hash-1'), NEW_EMAIL, { firstName: 'Alicia' }))
        .then('WRONG_PASSWORD');
    });

    it('changing to the current address is nothing to do', () => {
      given([registered()]).when(change(checked(), EMAIL)).then([]);
    });

    it('the new address verifies via VerifyEmail, giving EmailVerified with previousEmail', () => {
      const history = given([registered()]).when(change(checked())).then([changeRequested]);
      const verified = given(history)
        .when(verify(t, NEW_EMAIL))
        .then([{ type: 'EmailVerified', data: { email: NEW_EMAIL, previousEmail: EMAIL } }]);
      // The account's address is now the new one: "changing" to it is a no-op, and the old one is a change.
      given(verified).when(change(checked(), NEW_EMAIL)).then([]);
      given(verified)
        .when(change(checked(), EMAIL))
        .then([
          {
            type: 'EmailChangeRequested',
            data: { oldEmail: NEW_EMAIL, newEmail: EMAIL, tokenId: t.tokenId, tokenHash: t.tokenHash, expiresAt: t.expiresAt },
          },
        ]);
      given(verified)
        .when(verify(t, NEW_EMAIL, 11))
        .then('INVALID_TOKEN');
    });

    it('the change token does not verify the old address, nor after it expires', () => {
      const history = [registered(), changeRequested];
      given(history).when(verify(t, EMAIL)).then('INVALID_TOKEN');
      given(history)
        .when(verify(t, NEW_EMAIL, 60))
        .then('INVALID_TOKEN');
    });

    it('a newer change supersedes the older pending one', () => {
      const newer = token('change-2', 90);
      const history: UserEvent[] = [
        registered(),
        changeRequested,
        { type: 'EmailChangeRequested', data: { oldEmail: EMAIL, newEmail: 'alice@third.example.com', ...newer } },
      ];
      given(history).when(verify(t, NEW_EMAIL)).then('INVALID_TOKEN');
      given(history)
        .when(verify(newer, 'alice@third.example.com'))
        .then([{ type: 'EmailVerified', data: { email: 'alice@third.example.com', previousEmail: EMAIL } }]);
    });

    it('refuses an unknown or deactivated user', () => {
      given([]).when(change(checked())).then('NOT_FOUND');
      given([registered(), deactivated()]).when(change(checked())).then('ACCOUNT_DEACTIVATED');
    });
  });

  describe('Deactivate', () => {
    const live = [registered(), loggedIn(1), loggedIn(2)];
    const bySelf = (currentPassword: CheckedPassword): UserCommand => ({ type: 'Deactivate', by: 'self', currentPassword, now: at(70) });
    const byAdmin: UserCommand = { type: 'Deactivate', by: 'admin', now: at(70) };

    it('by self, with the password: deactivates and ends every session', () => {
      given(live)
        .when(bySelf(checked()))
        .then([{ type: 'UserDeactivated', data: { at: at(70), by: 'self', endedSessionIds: [sid(1), sid(2)] } }]);
    });

    it('by self, with a wrong password: WRONG_PASSWORD', () => {
      given(live)
        .when(bySelf(checked('hash-1', false)))
        .then('WRONG_PASSWORD');
    });

    it('by self, with a password checked against a hash replaced since (the owner changed it meanwhile): WRONG_PASSWORD', () => {
      given([...live, passwordChanged('hash-2')])
        .when(bySelf(checked('hash-1')))
        .then('WRONG_PASSWORD');
    });

    it('by an admin: no password needed', () => {
      given(live)
        .when(byAdmin)
        .then([{ type: 'UserDeactivated', data: { at: at(70), by: 'admin', endedSessionIds: [sid(1), sid(2)] } }]);
    });

    it('refuses twice, and an unknown user', () => {
      given([...live, deactivated()])
        .when(byAdmin)
        .then('ACCOUNT_DEACTIVATED');
      given([...live, deactivated()])
        .when(bySelf(checked()))
        .then('ACCOUNT_DEACTIVATED');
      given([]).when(byAdmin).then('NOT_FOUND');
    });
  });

  describe('Restore', () => {
    const restore: UserCommand = { type: 'Restore', now: at(200) };

    it('restores a deactivated account, which can then log in', () => {
      const history = given([registered(), deactivated()])
        .when(restore)
        .then([{ type: 'UserRestored', data: { at: at(200) } }]);
      given(history)
        .when(login(201))
        .then([loggedIn(201)]);
    });

    it('is nothing to do for an active account', () => {
      given([registered()]).when(restore).then([]);
    });

    it('refuses an unknown user', () => {
      given([]).when(restore).then('NOT_FOUND');
    });
  });

  describe('ChangeRole', () => {
    const changeRole = (role: 'admin' | 'editor' | 'viewer'): UserCommand => ({ type: 'ChangeRole', role, now: at(80) });

    it('changes the role and ends every session', () => {
      const history = given([registered(), loggedIn(1), loggedIn(2)])
        .when(changeRole('editor'))
        .then([{ type: 'RoleChanged', data: { from: 'viewer', to: 'editor', at: at(80), endedSessionIds: [sid(1), sid(2)] } }]);
      given(history)
        .when(changeRole('admin'))
        .then([{ type: 'RoleChanged', data: { from: 'editor', to: 'admin', at: at(80), endedSessionIds: [] } }]);
    });

    it('the same role is nothing to do', () => {
      given([registered(), loggedIn(1)])
        .when(changeRole('viewer'))
        .then([]);
    });

    it('refuses an unknown or deactivated user', () => {
      given([]).when(changeRole('admin')).then('NOT_FOUND');
      given([registered(), deactivated()]).when(changeRole('admin')).then('ACCOUNT_DEACTIVATED');
    });
  });
});
