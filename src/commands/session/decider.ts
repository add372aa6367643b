import { fail } from '../../errors';
import { Decider } from '../decider';
import { SessionEvent } from '../../events/session';
import { SessionEndReason, SessionId, UserId } from '../../events/user';

/**
 * The hashes a session has spent, newest first, as an immutable linked list: adding one is
 * O(1) and shares the rest, so folding a long-lived session's refreshes stays linear (copying a
 * Map per refresh made loading a session with n refreshes O(n²)). Looked up once per refresh.
 */
export class SpentTokens {
  static readonly none = new SpentTokens(null);
  private constructor(private readonly head: { hash: string; at: string; next: SpentTokens['head'] } | null) {}

  with(hash: string, at: string): SpentTokens {
    return new SpentTokens({ hash, at, next: this.head });
  }

  /** The token spent last, the one the current token replaced, and when; null before the first rotation. */
  get latest(): { hash: string; at: string } | null {
    return this.head ? { hash: this.head.hash, at: this.head.at } : null;
  }

  has(hash: string): boolean {
    for (let n = this.head; n; n = n.next) if (n.hash === hash) return true;
    return false;
  }
}

export interface SessionState {
  exists: boolean;
  sessionId: SessionId | null;
  userId: UserId | null;
  deviceId: string;
  currentHash: string;
  /** Every hash this session has spent, with when it was spent (reuse detection, grace for the latest). */
  spent: SpentTokens;
  startedAt: string;
  lastRefreshAt: string | null;
  absoluteExpiresAt: string;
  refreshCount: number;
  revoked: SessionEndReason | null;
}

export const initialSessionState = (): SessionState => ({
  exists: false,
  sessionId: null,
  userId: null,
  deviceId: '',
  currentHash: '',
  spent: SpentTokens.none,
  startedAt: '',
  lastRefreshAt: null,
  absoluteExpiresAt: '',
  refreshCount: 0,
  revoked: null,
});

export function evolveSession(s: SessionState, e: SessionEvent): SessionState {
  switch (e.type) {
    case 'SessionStarted':
      return {
        ...s,
        exists: true,
        sessionId: e.data.sessionId,
        userId: e.data.userId,
        deviceId: e.data.deviceId,
        currentHash: e.data.refreshTokenHash,
        startedAt: e.data.startedAt,
        absoluteExpiresAt: e.data.absoluteExpiresAt,
      };
    case 'SessionRefreshed': {
      const spent = s.spent.with(e.data.previousTokenHash, e.data.at);
      return { ...s, currentHash: e.data.refreshTokenHash, spent, lastRefreshAt: e.data.at, refreshCount: s.refreshCount + 1 };
    }
    case 'SessionRevoked':
      return { ...s, revoked: e.data.reason };
  }
}

export type SessionCommand =
  | {
      type: 'StartSession';
      sessionId: SessionId;
      userId: UserId;
      deviceId: string;
      refreshTokenHash: string;
      ip: string | null;
      userAgent: string | null;
      now: string;
      absoluteTtlSeconds: number;
    }
  | {
      type: 'RefreshSession';
      presentedHash: string;
      newHash: string;
      now: string;
      graceSeconds: number;
      idleTtlSeconds: number;
      /** From the user's stream: false when the user ended this session (or the account) meanwhile. */
      userAllowsSession: boolean;
    }
  | { type: 'Rotate'; newHash: string; now: string }
  | { type: 'RevokeSession'; reason: SessionEndReason; now: string };

const plusSeconds = (iso: string, seconds: number): string => new Date(Date.parse(iso) + seconds * 1000).toISOString();

/** Why a refresh decided to end the session instead of rotating. */
export const endReasonOf = (events: SessionEvent[]): SessionEndReason | null => {
  const last = events[events.length - 1];
  return last?.type === 'SessionRevoked' ? last.data.reason : null;
};

export function decideSession(c: SessionCommand, s: SessionState): SessionEvent[] {
  switch (c.type) {
    case 'StartSession':
      if (s.exists) fail('CONFLICT', 'Session already exists');
      return [
        {
          type: 'SessionStarted',
          data: {
            sessionId: c.sessionId,
            userId: c.userId,
            deviceId: c.deviceId,
            refreshTokenHash: c.refreshTokenHash,
            ip: c.ip,
            userAgent: c.userAgent,
            startedAt: c.now,
            absoluteExpiresAt: plusSeconds(c.now, c.absoluteTtlSeconds),
          },
        },
      ];
    case 'RefreshSession': {
      if (!s.exists) fail('SESSION_REVOKED', 'Invalid refresh token');
      if (s.revoked) fail('SESSION_REVOKED', 'This session has ended');
      const revoke = (reason: SessionEndReason): SessionEvent[] => [{ type: 'SessionRevoked', data: { reason, at: c.now } }];
      if (c.presentedHash !== s.currentHash) {
        // An unknown value proves nothing (anyone can send garbage with a session id): refuse only.
        if (!s.spent.has(c.presentedHash)) fail('SESSION_REVOKED', 'Invalid refresh token');
        // Two tabs racing on the current token: the loser presents the token its sibling just
        // rotated, the current token's immediate predecessor. Only that one, and only inside the
        // window, is refused without harm; an older token, however quickly it comes back, is a
        // replay of a stolen one.
        const predecessor = s.spent.latest;
        if (predecessor?.hash === c.presentedHash && Date.parse(c.now) - Date.parse(predecessor.at) <= c.graceSeconds * 1000) {
          fail('REFRESH_TOKEN_ROTATED', 'This refresh token was just rotated; use the newest one');
        }
        return revoke('reuse-detected');
      }
      if (!c.userAllowsSession) return revoke('revoked');
      if (Date.parse(s.absoluteExpiresAt) <= Date.parse(c.now)) return revoke('expired');
      const lastActive = s.lastRefreshAt ?? s.startedAt;
      if (Date.parse(plusSeconds(lastActive, c.idleTtlSeconds)) <= Date.parse(c.now)) return revoke('expired');
      return [{ type: 'SessionRefreshed', data: { previousTokenHash: c.presentedHash, refreshTokenHash: c.newHash, at: c.now } }];
    }
    case 'Rotate':
      if (!s.exists || s.revoked) fail('SESSION_REVOKED', 'This session has ended');
      return [
        {
          type: 'SessionRefreshed',
          data: { previousTokenHash: s.currentHash, refreshTokenHash: c.newHash, at: c.now, endsOlderAccessTokens: true },
        },
      ];
    case 'RevokeSession':
      return s.exists && !s.revoked ? [{ type: 'SessionRevoked', data: { reason: c.reason, at: c.now } }] : [];
  }
}

export const sessionDecider: Decider<SessionCommand, SessionEvent, SessionState> = {
  initialState: initialSessionState,
  evolve: evolveSession,
  decide: decideSession,
};
