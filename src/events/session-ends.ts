import { SessionEndReason, SessionId, UserEvent } from './user';

/**
 * The user events that end sessions. The user's stream says so the moment they end; the session
 * streams follow through the revoke job (SessionRevoked, with the same reason).
 */
export const SESSION_ENDING_USER_EVENTS = [
  'SessionEnded',
  'AllSessionsEnded',
  'PasswordChanged',
  'PasswordReset',
  'UserDeactivated',
  'RoleChanged',
] as const;
export type SessionEndingUserEvent = Extract<UserEvent, { type: (typeof SESSION_ENDING_USER_EVENTS)[number] }>;

export interface SessionsEnded {
  sessionIds: SessionId[];
  reason: SessionEndReason;
}

/**
 * Which sessions a user event ends, and why: the one reading of it, shared by the sessions list,
 * the revoke job and the revocation list rebuilt from the log. Null for an event that ends none.
 */
export function sessionsEndedBy(e: SessionEndingUserEvent): SessionsEnded;
export function sessionsEndedBy(e: UserEvent): SessionsEnded | null;
export function sessionsEndedBy(e: UserEvent): SessionsEnded | null {
  switch (e.type) {
    case 'SessionEnded':
      return { sessionIds: [e.data.sessionId], reason: e.data.reason };
    case 'AllSessionsEnded':
      return { sessionIds: e.data.endedSessionIds, reason: e.data.reason };
    case 'PasswordChanged':
      return { sessionIds: e.data.endedSessionIds, reason: 'password-changed' };
    case 'PasswordReset':
      return { sessionIds: e.data.endedSessionIds, reason: 'password-reset' };
    case 'UserDeactivated':
      return { sessionIds: e.data.endedSessionIds, reason: 'deactivated' };
    case 'RoleChanged':
      return { sessionIds: e.data.endedSessionIds, reason: 'role-changed' };
    // Listed one by one, so a new user event has to be placed here or the switch does not compile.
    case 'UserRegistered':
    case 'EmailVerificationRequested':
    case 'EmailVerified':
    case 'RegistrationAttemptedOnExistingAccount':
    case 'UserLoggedIn':
    case 'PasswordResetRequested':
    case 'ProfileUpdated':
    case 'EmailChangeRequested':
    case 'UserRestored':
      return null;
  }
}
