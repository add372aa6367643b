import { idInStream } from './streams';
import { SessionEndReason, SessionId, UserId } from './user';

/** Events of the `session-<id>` streams: one per device login. */
const SESSION_PREFIX = 'session-';
export const sessionStream = (id: string): string => `${SESSION_PREFIX}${id}`;
export const sessionIdOf = (streamId: string): SessionId => idInStream(streamId, SESSION_PREFIX) as SessionId;

export type SessionEvent =
  | {
      type: 'SessionStarted';
      data: {
        sessionId: SessionId;
        userId: UserId;
        deviceId: string;
        refreshTokenHash: string;
        ip: string | null;
        userAgent: string | null;
        startedAt: string;
        absoluteExpiresAt: string;
      };
    }
  | {
      type: 'SessionRefreshed';
      data: {
        previousTokenHash: string;
        refreshTokenHash: string;
        at: string;
        /**
         * A rotation that refuses the session's access tokens issued before it (after a password
         * change): the revocation list, rebuilt from the log, needs to know which refresh that was.
         */
        endsOlderAccessTokens?: true;
      };
    }
  | { type: 'SessionRevoked'; data: { reason: SessionEndReason; at: string } };

export type SessionEventType = SessionEvent['type'];
