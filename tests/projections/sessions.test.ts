import { sessionsProjection } from '../../src/projections/sessions';
import { SessionEvent } from '../../src/events/session';
import { SessionEndReason, SessionId, UserEvent, UserId } from '../../src/events/user';
import { eventLog, iso, uuid } from '../helpers/events';
import { projectionSpec } from '../helpers/projection-spec';

const spec = projectionSpec(sessionsProjection);

const ADA = uuid('user', 1) as UserId;
const [LAPTOP, PHONE, TABLET] = [1, 2, 3].map((n) => uuid('session', n) as SessionId);

const started = (sessionId: SessionId, deviceId: string, at: string, userId: UserId = ADA): SessionEvent => ({
  type: 'SessionStarted',
  data: {
    sessionId,
    userId,
    deviceId,
    refreshTokenHash: 'h0',
    ip: '203.0.113.9',
    userAgent: 'jest',
    startedAt: at,
    absoluteExpiresAt: iso(86_400),
  },
});
const refreshed = (at: string): SessionEvent => ({
  type: 'SessionRefreshed',
  data: { previousTokenHash: 'h0', refreshTokenHash: 'h1', at },
});
const revoked = (reason: SessionEndReason, at: string): SessionEvent => ({ type: 'SessionRevoked', data: { reason, at } });

describe('sessions projection', () => {
  it('SessionStarted: a live session of its user, from its device, never refreshed', async () => {
    const log = eventLog();
    await spec.given(log.session(LAPTOP, started(LAPTOP, 'laptop', iso(1)))).then({
      sessions: [
        {
          id: LAPTOP,
          user_id: ADA,
          device_id: 'laptop',
          ip: '203.0.113.9',
          user_agent: 'jest',
          created_at: iso(1),
          last_refresh_at: null,
          refresh_count: 0,
          absolute_expires_at: iso(86_400),
          revoked_at: null,
          revoke_reason: null,
        },
      ],
    });
  });

  it('SessionRefreshed: counted, the last one remembered, each session on its own', async () => {
    const log = eventLog();
    await spec
      .given(
        log.session(LAPTOP, started(LAPTOP, 'laptop', iso(1))),
        log.session(PHONE, started(PHONE, 'phone', iso(2))),
        log.session(LAPTOP, refreshed(iso(10))),
        log.session(PHONE, refreshed(iso(11))),
        log.session(LAPTOP, refreshed(iso(12))),
      )
      .then({
        sessions: [
          { id: LAPTOP, refresh_count: 2, last_refresh_at: iso(12) },
          { id: PHONE, refresh_count: 1, last_refresh_at: iso(11) },
        ],
      });
  });

  it('SessionRevoked: ended with its reason; a later end does not overwrite the first', async () => {
    const log = eventLog();
    await spec
      .given(
        log.session(LAPTOP, started(LAPTOP, 'laptop', iso(1))),
        log.session(LAPTOP, revoked('logout', iso(5))),
        log.session(LAPTOP, revoked('expired', iso(9))),
      )
      .then({ sessions: [{ id: LAPTOP, revoked_at: iso(5), revoke_reason: 'logout' }] });
  });

  it("SessionEnded on the user's stream: that session ends at once, at the event's time, with its reason", async () => {
    const log = eventLog();
    const a = log.session(LAPTOP, started(LAPTOP, 'laptop', iso(1)));
    const b = log.session(PHONE, started(PHONE, 'phone', iso(2)));
    const ended = log.user(ADA, { type: 'SessionEnded', data: { sessionId: PHONE, reason: 'evicted' } });
    await spec.given(a, b, ended).then({
      sessions: [
        { id: LAPTOP, revoked_at: null, revoke_reason: null },
        { id: PHONE, revoked_at: ended.createdAt, revoke_reason: 'evicted' },
      ],
    });
  });

  const threeSessions = (log: ReturnType<typeof eventLog>) => [
    log.session(LAPTOP, started(LAPTOP, 'laptop', iso(1))),
    log.session(PHONE, started(PHONE, 'phone', iso(2))),
    log.session(TABLET, started(TABLET, 'tablet', iso(3))),
  ];

  const ends: [string, SessionEndReason, UserEvent][] = [
    [
      'AllSessionsEnded',
      'logout-all',
      { type: 'AllSessionsEnded', data: { reason: 'logout-all', at: iso(9), endedSessionIds: [LAPTOP, PHONE] } },
    ],
    [
      'PasswordChanged',
      'password-changed',
      { type: 'PasswordChanged', data: { passwordHash: 'h', at: iso(9), keepSessionId: TABLET, endedSessionIds: [LAPTOP, PHONE] } },
    ],
    [
      'PasswordReset',
      'password-reset',
      { type: 'PasswordReset', data: { passwordHash: 'h', at: iso(9), endedSessionIds: [LAPTOP, PHONE] } },
    ],
    ['UserDeactivated', 'deactivated', { type: 'UserDeactivated', data: { at: iso(9), by: 'admin', endedSessionIds: [LAPTOP, PHONE] } }],
    [
      'RoleChanged',
      'role-changed',
      { type: 'RoleChanged', data: { from: 'viewer', to: 'editor', at: iso(9), endedSessionIds: [LAPTOP, PHONE] } },
    ],
  ];
  it.each(ends)("%s on the user's stream ends the sessions it names (reason %s); the others stay live", async (_, reason, event) => {
    const log = eventLog();
    const sessions = threeSessions(log);
    const ending = log.user(ADA, event);
    await spec.given(...sessions, ending).then({
      sessions: [
        { id: LAPTOP, revoked_at: ending.createdAt, revoke_reason: reason },
        { id: PHONE, revoked_at: ending.createdAt, revoke_reason: reason },
        { id: TABLET, revoked_at: null, revoke_reason: null },
      ],
    });
  });

  it("a session ended on the user's stream keeps that end when its own revocation follows (the revoke job)", async () => {
    const log = eventLog();
    const [a] = threeSessions(log);
    const ended = log.user(ADA, { type: 'SessionEnded', data: { sessionId: LAPTOP, reason: 'revoked' } });
    await spec
      .given(a, ended, log.session(LAPTOP, revoked('revoked', iso(30))))
      .then({ sessions: [{ id: LAPTOP, revoked_at: ended.createdAt, revoke_reason: 'revoked' }] });
  });

  it('however the log is cut into batches, the rows are those of applying its events one by one', async () => {
    const log = eventLog();
    const user = uuid('user', 2) as UserId;
    const [a, b, c] = [4, 5, 6].map((n) => uuid('session', n) as SessionId);
    const events = [
      log.session(a, started(a, 'laptop', iso(1), user)),
      log.session(b, started(b, 'phone', iso(2), user)),
      log.session(a, refreshed(iso(3))),
      log.session(b, refreshed(iso(4))),
      log.session(a, refreshed(iso(5))),
      log.session(a, refreshed(iso(6))),
      log.session(c, started(c, 'tablet', iso(7), user)),
      log.session(c, refreshed(iso(8))),
      log.session(b, revoked('logout', iso(50))),
      log.session(a, refreshed(iso(10))),
      log.user(user, { type: 'SessionEnded', data: { sessionId: c, reason: 'revoked' } }),
      log.session(c, refreshed(iso(12))),
      log.session(a, refreshed(iso(13))),
      log.session(a, refreshed(iso(14))),
    ];
    const rows = await spec.given(...events).sameRowsHoweverCut([1, 2, 3, 7, events.length]);
    expect(rows.sessions).toHaveLength(3);
  });
});
