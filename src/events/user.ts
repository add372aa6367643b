import { idInStream } from './streams';

/**
 * Events of the `user-<id>` streams. Names are past-tense facts; a breaking change to a payload
 * gets a new type name (`…V2`) and an upcaster, never an edit in place.
 * No event carries a secret: passwords and one-time tokens appear only as hashes.
 */
export type Role = 'admin' | 'editor' | 'viewer';
export const ROLES: readonly Role[] = ['admin', 'editor', 'viewer'];

export type UserId = string & { readonly __brand: 'UserId' };
export type SessionId = string & { readonly __brand: 'SessionId' };

const USER_PREFIX = 'user-';
export const userStream = (id: string): string => `${USER_PREFIX}${id}`;
/** The user a `user-<id>` stream belongs to. */
export const userIdOf = (streamId: string): UserId => idInStream(streamId, USER_PREFIX) as UserId;

/**
 * One-time tokens (verification, reset) are never stored: the event holds `tokenId` and the
 * hash; the mail worker derives the token again as HMAC(TOKEN_SECRET, purpose:tokenId).
 */
export interface OneTimeToken {
  tokenId: string;
  tokenHash: string;
  expiresAt: string;
}

export interface ProfileChange {
  field: string;
  oldValue: unknown;
  newValue: unknown;
}

export type UserEvent =
  | {
      type: 'UserRegistered';
      data: {
        userId: UserId;
        email: string;
        username: string | null;
        firstName: string | null;
        lastName: string | null;
        name: string | null;
        profile: Record<string, unknown> | null;
        role: Role;
        passwordHash: string;
        emailVerified: boolean;
        registeredAt: string;
      };
    }
  | {
      type: 'EmailVerificationRequested';
      data: { email: string; tokenId: string; tokenHash: string; expiresAt: string; purpose: 'registration' };
    }
  | { type: 'EmailVerified'; data: { email: string; previousEmail: string | null } }
  | { type: 'RegistrationAttemptedOnExistingAccount'; data: { email: string; at: string } }
  | { type: 'UserLoggedIn'; data: { sessionId: SessionId; deviceId: string; at: string } }
  | { type: 'SessionEnded'; data: { sessionId: SessionId; reason: SessionEndReason } }
  | { type: 'AllSessionsEnded'; data: { reason: SessionEndReason; at: string; endedSessionIds: SessionId[] } }
  | { type: 'PasswordChanged'; data: { passwordHash: string; at: string; keepSessionId: SessionId | null; endedSessionIds: SessionId[] } }
  | { type: 'PasswordResetRequested'; data: { email: string; tokenId: string; tokenHash: string; expiresAt: string } }
  | { type: 'PasswordReset'; data: { passwordHash: string; at: string; endedSessionIds: SessionId[] } }
  | { type: 'ProfileUpdated'; data: { changes: ProfileChange[] } }
  | { type: 'EmailChangeRequested'; data: { oldEmail: string; newEmail: string; tokenId: string; tokenHash: string; expiresAt: string } }
  | { type: 'UserDeactivated'; data: { at: string; by: 'self' | 'admin'; endedSessionIds: SessionId[] } }
  | { type: 'UserRestored'; data: { at: string } }
  | { type: 'RoleChanged'; data: { from: Role; to: Role; at: string; endedSessionIds: SessionId[] } };

export const SESSION_END_REASONS = [
  'logout',
  'logout-all',
  'revoked',
  'evicted',
  'password-changed',
  'password-reset',
  'deactivated',
  'role-changed',
  'reuse-detected',
  'expired',
] as const;
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

export type UserEventType = UserEvent['type'];
