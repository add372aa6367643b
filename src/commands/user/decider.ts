import { fail } from '../../errors';
import { Decider } from '../decider';
import { OneTimeToken, ProfileChange, Role, SessionEndReason, SessionId, UserEvent, UserId } from '../../events/user';

export interface UserState {
  exists: boolean;
  id: UserId | null;
  email: string;
  username: string | null;
  firstName: string | null;
  lastName: string | null;
  name: string | null;
  profile: Record<string, unknown> | null;
  role: Role;
  passwordHash: string;
  emailVerified: boolean;
  deactivated: boolean;
  /** The newest verification link; an older one stops working when a newer one is sent. */
  verification: { email: string; tokenHash: string; expiresAt: string } | null;
  reset: { tokenHash: string; expiresAt: string } | null;
  /** Expiry of the newest reset link ever recorded (kept after it is used): an older or the same request again is a retried or late job. */
  lastResetExpiresAt: string | null;
  sessions: { id: SessionId; startedAt: string }[];
  /** Sessions started before this instant are over (password change, reset, deactivation, role change). */
  sessionsValidAfter: string | null;
  lastRegistrationAttemptAt: string | null;
}

const ATTEMPT_NOTICE_QUIET_MS = 10 * 60 * 1000;

export const initialUserState = (): UserState => ({
  exists: false,
  id: null,
  email: '',
  username: null,
  firstName: null,
  lastName: null,
  name: null,
  profile: null,
  role: 'viewer',
  passwordHash: '',
  emailVerified: false,
  deactivated: false,
  verification: null,
  reset: null,
  lastResetExpiresAt: null,
  sessions: [],
  sessionsValidAfter: null,
  lastRegistrationAttemptAt: null,
});

export function evolveUser(s: UserState, e: UserEvent): UserState {
  switch (e.type) {
    case 'UserRegistered': {
      const d = e.data;
      return {
        ...s,
        exists: true,
        id: d.userId,
        email: d.email,
        username: d.username,
        firstName: d.firstName,
        lastName: d.lastName,
        name: d.name,
        profile: d.profile,
        role: d.role,
        passwordHash: d.passwordHash,
        emailVerified: d.emailVerified,
      };
    }
    case 'EmailVerificationRequested':
      return { ...s, verification: { email: e.data.email, tokenHash: e.data.tokenHash, expiresAt: e.data.expiresAt } };
    case 'EmailChangeRequested':
      return {
        ...s,
        verification: { email: e.data.newEmail, tokenHash: e.data.tokenHash, expiresAt: e.data.expiresAt },
      };
    case 'EmailVerified':
      return { ...s, email: e.data.email, emailVerified: true, verification: null };
    case 'RegistrationAttemptedOnExistingAccount':
      return { ...s, lastRegistrationAttemptAt: e.data.at };
    case 'UserLoggedIn':
      return { ...s, sessions: [...s.sessions, { id: e.data.sessionId, startedAt: e.data.at }] };
    case 'SessionEnded':
      return { ...s, sessions: s.sessions.filter((x) => x.id !== e.data.sessionId) };
    case 'AllSessionsEnded':
      return { ...s, sessions: [], sessionsValidAfter: e.data.at };
    case 'PasswordChanged':
      return {
        ...s,
        passwordHash: e.data.passwordHash,
        reset: null,
        sessions: s.sessions.filter((x) => x.id === e.data.keepSessionId),
      };
    case 'PasswordResetRequested':
      return { ...s, reset: { tokenHash: e.data.tokenHash, expiresAt: e.data.expiresAt }, lastResetExpiresAt: e.data.expiresAt };
    case 'PasswordReset':
      return { ...s, passwordHash: e.data.passwordHash, reset: null, sessions: [], sessionsValidAfter: e.data.at };
    case 'ProfileUpdated': {
      const next = { ...s };
      for (const c of e.data.changes) applyProfileChange(next, c);
      return next;
    }
    case 'UserDeactivated':
      return { ...s, deactivated: true, sessions: [], sessionsValidAfter: e.data.at };
    case 'UserRestored':
      return { ...s, deactivated: false };
    case 'RoleChanged':
      return { ...s, role: e.data.to, sessions: [], sessionsValidAfter: e.data.at };
  }
}

const applyProfileChange = (s: UserState, c: ProfileChange): void => {
  switch (c.field) {
    case 'firstName':
      s.firstName = c.newValue as string | null;
      break;
    case 'lastName':
      s.lastName = c.newValue as string | null;
      break;
    case 'name':
      s.name = c.newValue as string | null;
      break;
    case 'username':
      s.username = c.newValue as string | null;
      break;
    case 'profile':
      s.profile = c.newValue as Record<string, unknown> | null;
      break;
  }
};

/**
 * A re-entered current password as it was checked: whether it matched, and the hash it was
 * compared with. A decision on it holds only while the account still has that hash: when the
 * password changed in between (a parallel request; a retry after a concurrent write), the check
 * is stale and the request is refused as if its password were wrong (it no longer is the current one).
 */
export interface CheckedPassword {
  matches: boolean;
  against: string;
}

/** A change of the account's email, asked for with the current password; the link goes to `newEmail`. */
export interface EmailChange {
  newEmail: string;
  currentPassword: CheckedPassword;
  token: OneTimeToken;
}

export type UserCommand =
  | {
      type: 'RegisterUser';
      userId: UserId;
      email: string;
      username: string | null;
      firstName: string | null;
      lastName: string | null;
      name: string | null;
      profile: Record<string, unknown> | null;
      role: Role;
      passwordHash: string;
      /** Null when verification is off: the account starts verified. */
      verification: OneTimeToken | null;
      now: string;
    }
  | { type: 'RequestEmailVerification'; token: OneTimeToken }
  | { type: 'VerifyEmail'; email: string; tokenHash: string; now: string }
  | { type: 'NoteRegistrationAttempt'; email: string; now: string }
  | {
      type: 'RecordLogin';
      sessionId: SessionId;
      deviceId: string;
      passwordMatches: boolean;
      requireVerifiedEmail: boolean;
      maxSessions: number;
      now: string;
    }
  | { type: 'EndSession'; sessionId: SessionId; reason: SessionEndReason }
  | { type: 'EndAllSessions'; reason: SessionEndReason; now: string }
  | { type: 'ChangePassword'; currentPassword: CheckedPassword; passwordHash: string; keepSessionId: SessionId | null; now: string }
  | { type: 'RequestPasswordReset'; token: OneTimeToken }
  | { type: 'ResetPassword'; tokenHash: string; passwordHash: string; now: string }
  | {
      type: 'UpdateProfile';
      changes: Partial<Pick<UserState, 'firstName' | 'lastName' | 'name' | 'username' | 'profile'>>;
      /** Decided with the other changes, so that all of them happen or none does. */
      emailChange: EmailChange | null;
    }
  | { type: 'Deactivate'; by: 'self'; currentPassword: CheckedPassword; now: string }
  | { type: 'Deactivate'; by: 'admin'; now: string }
  | { type: 'Restore'; now: string }
  | { type: 'ChangeRole'; role: Role; now: string };

const ids = (sessions: UserState['sessions']): SessionId[] => sessions.map((x) => x.id);

const wrongPassword = (): never =>
  fail('WRONG_PASSWORD', 'The current password is wrong', [{ path: 'currentPassword', message: 'currentPassword is wrong' }]);

const requireCurrentPassword = (p: CheckedPassword, s: UserState): void => {
  if (!p.matches || p.against !== s.passwordHash) wrongPassword();
};

const requireActive = (s: UserState): void => {
  if (!s.exists) fail('NOT_FOUND', 'User not found');
  if (s.deactivated) fail('ACCOUNT_DEACTIVATED', 'This account is deactivated');
};

const expired = (expiresAt: string, now: string): boolean => Date.parse(expiresAt) <= Date.parse(now);

/** Links of one kind have one lifetime: a later expiry is a later request. */
const notNewer = (token: OneTimeToken, newestExpiresAt: string | null): boolean =>
  newestExpiresAt !== null && Date.parse(token.expiresAt) <= Date.parse(newestExpiresAt);

/** JSON with object keys sorted, so `{a,b}` and `{b,a}` compare equal. */
const canonical = (v: unknown): string =>
  v === null || typeof v !== 'object'
    ? JSON.stringify(v ?? null)
    : Array.isArray(v)
      ? `[${v.map(canonical).join(',')}]`
      : `{${Object.keys(v)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
          .join(',')}}`;

const sameValue = (a: unknown, b: unknown): boolean => canonical(a) === canonical(b);

export function decideUser(c: UserCommand, s: UserState): UserEvent[] {
  switch (c.type) {
    case 'RegisterUser': {
      if (s.exists) fail('CONFLICT', 'User already exists');
      const events: UserEvent[] = [
        {
          type: 'UserRegistered',
          data: {
            userId: c.userId,
            email: c.email,
            username: c.username,
            firstName: c.firstName,
            lastName: c.lastName,
            name: c.name,
            profile: c.profile,
            role: c.role,
            passwordHash: c.passwordHash,
            emailVerified: c.verification === null,
            registeredAt: c.now,
          },
        },
      ];
      if (c.verification) {
        events.push({ type: 'EmailVerificationRequested', data: { email: c.email, ...c.verification, purpose: 'registration' } });
      }
      return events;
    }
    case 'RequestEmailVerification':
      // Nothing to send for a verified or deactivated account; the caller answers alike anyway.
      // A link no newer than the current one comes from a retried or late job: recorded once, never over a newer one.
      if (!s.exists || s.deactivated || s.emailVerified || notNewer(c.token, s.verification?.expiresAt ?? null)) return [];
      return [{ type: 'EmailVerificationRequested', data: { email: s.email, ...c.token, purpose: 'registration' } }];
    case 'VerifyEmail': {
      const v = s.verification;
      if (!s.exists || s.deactivated || !v || v.tokenHash !== c.tokenHash || v.email !== c.email || expired(v.expiresAt, c.now)) {
        fail('INVALID_TOKEN', 'The verification link is invalid or has expired');
      }
      return [{ type: 'EmailVerified', data: { email: v!.email, previousEmail: v!.email === s.email ? null : s.email } }];
    }
    case 'NoteRegistrationAttempt': {
      // One heads-up email per quiet period, however many attempts: no mailbox flooding.
      const recent =
        s.lastRegistrationAttemptAt !== null && Date.parse(c.now) - Date.parse(s.lastRegistrationAttemptAt) < ATTEMPT_NOTICE_QUIET_MS;
      return s.exists && !recent ? [{ type: 'RegistrationAttemptedOnExistingAccount', data: { email: s.email, at: c.now } }] : [];
    }
    case 'RecordLogin': {
      if (!s.exists || s.deactivated || !c.passwordMatches) fail('INVALID_CREDENTIALS', 'Invalid credentials');
      if (c.requireVerifiedEmail && !s.emailVerified) fail('EMAIL_NOT_VERIFIED', 'Verify your email address before signing in');
      const events: UserEvent[] = [{ type: 'UserLoggedIn', data: { sessionId: c.sessionId, deviceId: c.deviceId, at: c.now } }];
      const overflow = s.sessions.length + 1 - c.maxSessions;
      const oldest = [...s.sessions].sort((a, b) => a.startedAt.localeCompare(b.startedAt)).slice(0, Math.max(0, overflow));
      for (const o of oldest) events.push({ type: 'SessionEnded', data: { sessionId: o.id, reason: 'evicted' } });
      return events;
    }
    case 'EndSession':
      return s.sessions.some((x) => x.id === c.sessionId)
        ? [{ type: 'SessionEnded', data: { sessionId: c.sessionId, reason: c.reason } }]
        : [];
    case 'EndAllSessions':
      requireActive(s);
      return [{ type: 'AllSessionsEnded', data: { reason: c.reason, at: c.now, endedSessionIds: ids(s.sessions) } }];
    case 'ChangePassword':
      requireActive(s);
      requireCurrentPassword(c.currentPassword, s);
      return [
        {
          type: 'PasswordChanged',
          data: {
            passwordHash: c.passwordHash,
            at: c.now,
            keepSessionId: c.keepSessionId,
            endedSessionIds: ids(s.sessions).filter((id) => id !== c.keepSessionId),
          },
        },
      ];
    case 'RequestPasswordReset':
      // As above; compared with the newest link ever recorded, so a used one cannot come back.
      if (!s.exists || s.deactivated || notNewer(c.token, s.lastResetExpiresAt)) return [];
      return [{ type: 'PasswordResetRequested', data: { email: s.email, ...c.token } }];
    case 'ResetPassword': {
      const r = s.reset;
      if (!s.exists || s.deactivated || !r || r.tokenHash !== c.tokenHash || expired(r.expiresAt, c.now)) {
        fail('INVALID_TOKEN', 'The reset link is invalid or has expired');
      }
      return [{ type: 'PasswordReset', data: { passwordHash: c.passwordHash, at: c.now, endedSessionIds: ids(s.sessions) } }];
    }
    case 'UpdateProfile': {
      requireActive(s);
      const email = c.emailChange;
      const emailChanges = email !== null && email.newEmail !== s.email;
      if (emailChanges) requireCurrentPassword(email.currentPassword, s);
      const events: UserEvent[] = [];
      const changes: ProfileChange[] = [];
      for (const [field, value] of Object.entries(c.changes)) {
        const old = s[field as keyof typeof c.changes];
        if (value !== undefined && !sameValue(old, value)) changes.push({ field, oldValue: old ?? null, newValue: value });
      }
      if (changes.length) events.push({ type: 'ProfileUpdated', data: { changes } });
      if (emailChanges)
        events.push({ type: 'EmailChangeRequested', data: { oldEmail: s.email, newEmail: email.newEmail, ...email.token } });
      return events;
    }
    case 'Deactivate':
      requireActive(s);
      if (c.by === 'self') requireCurrentPassword(c.currentPassword, s);
      return [{ type: 'UserDeactivated', data: { at: c.now, by: c.by, endedSessionIds: ids(s.sessions) } }];
    case 'Restore':
      if (!s.exists) fail('NOT_FOUND', 'User not found');
      return s.deactivated ? [{ type: 'UserRestored', data: { at: c.now } }] : [];
    case 'ChangeRole':
      requireActive(s);
      return s.role === c.role
        ? []
        : [{ type: 'RoleChanged', data: { from: s.role, to: c.role, at: c.now, endedSessionIds: ids(s.sessions) } }];
  }
}

export const userDecider: Decider<UserCommand, UserEvent, UserState> = {
  initialState: initialUserState,
  evolve: evolveUser,
  decide: decideUser,
};
