import { endReasonOf, sessionDecider, SessionCommand } from '../../src/commands/session/decider';
import { SessionEvent } from '../../src/events/session';
import { SessionId, UserId } from '../../src/events/user';
import { deciderSpec } from './decider-spec';

const given = deciderSpec(sessionDecider);

type EventOf<T extends SessionEvent['type']> = Extract<SessionEvent, { type: T }>;
type CommandOf<T extends SessionCommand['type']> = Extract<SessionCommand, { type: T }>;

const SESSION_ID = '0b5f8c1e-3d4a-4f6b-8c7d-9e0f1a2b3c4d' as SessionId;
const USER_ID = '6f1c1f52-0d7e-4a39-9a43-0a4c3f2f9b10' as UserId;
const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const DAY = 24 * 3600;
const ABSOLUTE_TTL = 30 * DAY;
const IDLE_TTL = 7 * DAY;
const GRACE = 10;
/** Seconds after T0, as the ISO instants the commands carry. */
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

const started: EventOf<'SessionStarted'> = {
  type: 'SessionStarted',
  data: {
    sessionId: SESSION_ID,
    userId: USER_ID,
    deviceId: 'laptop',
    refreshTokenHash: 'h0',
    ip: '203.0.113.7',
    userAgent: 'jest',
    startedAt: at(0),
    absoluteExpiresAt: at(ABSOLUTE_TTL),
  },
};
const refreshed = (previousTokenHash: string, refreshTokenHash: string, second: number): EventOf<'SessionRefreshed'> => ({
  type: 'SessionRefreshed',
  data: { previousTokenHash, refreshTokenHash, at: at(second) },
});

/** A rotation that also refuses the access tokens issued before it. */
const rotated = (previousTokenHash: string, refreshTokenHash: string, second: number): EventOf<'SessionRefreshed'> => ({
  type: 'SessionRefreshed',
  data: { previousTokenHash, refreshTokenHash, at: at(second), endsOlderAccessTokens: true },
});
const revoked = (reason: EventOf<'SessionRevoked'>['data']['reason'], second: number): EventOf<'SessionRevoked'> => ({
  type: 'SessionRevoked',
  data: { reason, at: at(second) },
});

const refresh = (
  presentedHash: string,
  newHash: string,
  second: number,
  opts: Partial<CommandOf<'RefreshSession'>> = {},
): SessionCommand => ({
  type: 'RefreshSession',
  presentedHash,
  newHash,
  now: at(second),
  graceSeconds: GRACE,
  idleTtlSeconds: IDLE_TTL,
  userAllowsSession: true,
  ...opts,
});

describe('session decider', () => {
  describe('StartSession', () => {
    const start: SessionCommand = {
      type: 'StartSession',
      sessionId: SESSION_ID,
      userId: USER_ID,
      deviceId: 'laptop',
      refreshTokenHash: 'h0',
      ip: '203.0.113.7',
      userAgent: 'jest',
      now: at(0),
      absoluteTtlSeconds: ABSOLUTE_TTL,
    };

    it('starts a session that expires absolutely after the TTL', () => {
      given([]).when(start).then([started]);
    });

    it('refuses to start the same session twice', () => {
      given([started]).when(start).then('CONFLICT');
    });
  });

  describe('RefreshSession', () => {
    it('rotates: SessionRefreshed with the previous and the new hash', () => {
      given([started])
        .when(refresh('h0', 'h1', 60))
        .then([refreshed('h0', 'h1', 60)]);
    });

    it('rotates again from the newest token', () => {
      let history: SessionEvent[] = [started];
      history = given(history)
        .when(refresh('h0', 'h1', 60))
        .then([refreshed('h0', 'h1', 60)]);
      history = given(history)
        .when(refresh('h1', 'h2', 120))
        .then([refreshed('h1', 'h2', 120)]);
      given(history)
        .when(refresh('h2', 'h3', 180))
        .then([refreshed('h2', 'h3', 180)]);
    });

    it('a spent token within the grace window: REFRESH_TOKEN_ROTATED and no events', () => {
      const history = [started, refreshed('h0', 'h1', 60)];
      given(history)
        .when(refresh('h0', 'hx', 61))
        .then('REFRESH_TOKEN_ROTATED');
      given(history)
        .when(refresh('h0', 'hx', 60 + GRACE))
        .then('REFRESH_TOKEN_ROTATED');
      // Refusing did not spend anything: the newest token still rotates.
      given(history)
        .when(refresh('h1', 'h2', 62))
        .then([refreshed('h1', 'h2', 62)]);
    });

    it('a spent token after the grace window: the session is revoked for reuse', () => {
      const history = given([started, refreshed('h0', 'h1', 60)])
        .when(refresh('h0', 'hx', 60 + GRACE + 1))
        .then([revoked('reuse-detected', 60 + GRACE + 1)]);
      // The legitimate holder's newest token is dead too.
      given(history)
        .when(refresh('h1', 'h2', 100))
        .then('SESSION_REVOKED');
    });

    it('grace covers only the immediate predecessor: a token two rotations old, within a second, ends the session', () => {
      // RT1 -> RT2 -> RT3 in quick succession, then RT1 again: a replay, not a racing tab.
      const history = [started, refreshed('h0', 'h1', 60), refreshed('h1', 'h2', 60.5)];
      const ended = given(history)
        .when(refresh('h0', 'hx', 61))
        .then([revoked('reuse-detected', 61)]);
      // The newest token and its predecessor are dead with it.
      given(ended)
        .when(refresh('h2', 'h3', 62))
        .then('SESSION_REVOKED');
      given(ended)
        .when(refresh('h1', 'h3', 62))
        .then('SESSION_REVOKED');
    });

    it('the immediate predecessor within the window: REFRESH_TOKEN_ROTATED, the session lives on', () => {
      const history = [started, refreshed('h0', 'h1', 60), refreshed('h1', 'h2', 60.5)];
      given(history)
        .when(refresh('h1', 'hx', 61))
        .then('REFRESH_TOKEN_ROTATED');
      given(history)
        .when(refresh('h2', 'h3', 62))
        .then([refreshed('h2', 'h3', 62)]);
    });

    it('the immediate predecessor after the window is reuse', () => {
      const history = [started, refreshed('h0', 'h1', 60), refreshed('h1', 'h2', 120)];
      given(history)
        .when(refresh('h1', 'hx', 120 + GRACE))
        .then('REFRESH_TOKEN_ROTATED');
      given(history)
        .when(refresh('h1', 'hx', 120 + GRACE + 1))
        .then([revoked('reuse-detected', 120 + GRACE + 1)]);
    });

    it('the grace window runs from when that token was spent, not from the latest rotation', () => {
      const history = [started, refreshed('h0', 'h1', 60), refreshed('h1', 'h2', 3600)];
      given(history)
        .when(refresh('h1', 'hx', 3601))
        .then('REFRESH_TOKEN_ROTATED');
      given(history)
        .when(refresh('h0', 'hx', 3601))
        .then([revoked('reuse-detected', 3601)]);
    });

    it('an unknown hash: SESSION_REVOKED and no events', () => {
      given([started, refreshed('h0', 'h1', 60)])
        .when(refresh('garbage', 'hx', 61))
        .then('SESSION_REVOKED');
      given([started])
        .when(refresh('garbage', 'hx', 1))
        .then('SESSION_REVOKED');
    });

    it('an unknown session: SESSION_REVOKED', () => {
      given([])
        .when(refresh('h0', 'h1', 1))
        .then('SESSION_REVOKED');
    });

    it('a revoked session: SESSION_REVOKED, whichever token is presented', () => {
      const history = [started, refreshed('h0', 'h1', 60), revoked('logout', 120)];
      given(history)
        .when(refresh('h1', 'h2', 121))
        .then('SESSION_REVOKED');
      given(history)
        .when(refresh('h0', 'h2', 121))
        .then('SESSION_REVOKED');
      given(history)
        .when(refresh('h0', 'h2', 10_000))
        .then('SESSION_REVOKED');
    });

    it('the user no longer allows the session: SessionRevoked "revoked"', () => {
      given([started])
        .when(refresh('h0', 'h1', 60, { userAllowsSession: false }))
        .then([revoked('revoked', 60)]);
    });

    it('absolute expiry: SessionRevoked "expired", however recently it was refreshed', () => {
      const history = [started, refreshed('h0', 'h1', ABSOLUTE_TTL - 60)];
      given(history)
        .when(refresh('h1', 'h2', ABSOLUTE_TTL - 1))
        .then([refreshed('h1', 'h2', ABSOLUTE_TTL - 1)]);
      given(history)
        .when(refresh('h1', 'h2', ABSOLUTE_TTL))
        .then([revoked('expired', ABSOLUTE_TTL)]);
      given(history)
        .when(refresh('h1', 'h2', ABSOLUTE_TTL + 1))
        .then([revoked('expired', ABSOLUTE_TTL + 1)]);
    });

    it('idle expiry from the start: SessionRevoked "expired"', () => {
      given([started])
        .when(refresh('h0', 'h1', IDLE_TTL - 1))
        .then([refreshed('h0', 'h1', IDLE_TTL - 1)]);
      given([started])
        .when(refresh('h0', 'h1', IDLE_TTL))
        .then([revoked('expired', IDLE_TTL)]);
    });

    it('idle expiry counts from the last refresh', () => {
      const history = [started, refreshed('h0', 'h1', 5 * DAY)];
      given(history)
        .when(refresh('h1', 'h2', 10 * DAY))
        .then([refreshed('h1', 'h2', 10 * DAY)]);
      given(history)
        .when(refresh('h1', 'h2', 12 * DAY))
        .then([revoked('expired', 12 * DAY)]);
    });
  });

  describe('Rotate', () => {
    it('rotates from the current hash without presenting it', () => {
      given([started, refreshed('h0', 'h1', 60)])
        .when({ type: 'Rotate', newHash: 'h2', now: at(90) })
        .then([rotated('h1', 'h2', 90)]);
    });

    it('the rotated-away token is spent like any other', () => {
      const history = given([started])
        .when({ type: 'Rotate', newHash: 'h1', now: at(90) })
        .then([rotated('h0', 'h1', 90)]);
      given(history)
        .when(refresh('h0', 'hx', 91))
        .then('REFRESH_TOKEN_ROTATED');
      given(history)
        .when(refresh('h0', 'hx', 90 + GRACE + 1))
        .then([revoked('reuse-detected', 90 + GRACE + 1)]);
      given(history)
        .when(refresh('h1', 'h2', 92))
        .then([refreshed('h1', 'h2', 92)]);
    });

    it('refuses a revoked or unknown session', () => {
      given([started, revoked('logout', 60)])
        .when({ type: 'Rotate', newHash: 'h1', now: at(90) })
        .then('SESSION_REVOKED');
      given([])
        .when({ type: 'Rotate', newHash: 'h1', now: at(90) })
        .then('SESSION_REVOKED');
    });
  });

  describe('RevokeSession', () => {
    const revoke: SessionCommand = { type: 'RevokeSession', reason: 'logout', now: at(300) };

    it('revokes a live session', () => {
      given([started])
        .when(revoke)
        .then([revoked('logout', 300)]);
    });

    it('is idempotent: no events the second time', () => {
      const history = given([started])
        .when(revoke)
        .then([revoked('logout', 300)]);
      given(history)
        .when({ type: 'RevokeSession', reason: 'revoked', now: at(400) })
        .then([]);
    });

    it('does nothing for an unknown session', () => {
      given([]).when(revoke).then([]);
    });
  });

  describe('endReasonOf', () => {
    it('names the reason when a refresh decided to end the session, else null', () => {
      expect(endReasonOf([revoked('reuse-detected', 1)])).toBe('reuse-detected');
      expect(endReasonOf([refreshed('h0', 'h1', 1)])).toBeNull();
      expect(endReasonOf([])).toBeNull();
    });
  });
});
