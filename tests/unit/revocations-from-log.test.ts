import { minVersionOf, revocationsOf } from '../../src/commands/session/revocations-from-log';
import { RecordedEvent } from '../../src/eventstore/types';
import { REVOKED } from '../../src/infra/revocations';

let position = 0n;
const at = new Date('2030-01-01T00:00:00.000Z');
const recorded = (streamId: string, type: string, data: Record<string, unknown>, revision = 0n): RecordedEvent => ({
  id: `e${++position}`,
  type,
  streamId,
  revision,
  position: { commit: position, prepare: position },
  data,
  metadata: {},
  createdAt: at,
});

describe('the revocation list as the log tells it', () => {
  it('every session-ending event ends the sessions it names; a password change keeps one to look into', () => {
    const { revoked, kept } = revocationsOf([
      recorded('user-u1', 'SessionEnded', { sessionId: 's1', reason: 'logout' }),
      recorded('user-u1', 'AllSessionsEnded', { reason: 'logout-all', at: '', endedSessionIds: ['s2', 's3'] }),
      recorded('user-u2', 'PasswordChanged', { passwordHash: 'x', at: '', keepSessionId: 's4', endedSessionIds: ['s5'] }),
      recorded('user-u3', 'PasswordReset', { passwordHash: 'x', at: '', endedSessionIds: ['s6'] }),
      recorded('user-u4', 'UserDeactivated', { at: '', by: 'admin', endedSessionIds: ['s7'] }),
      recorded('user-u5', 'RoleChanged', { from: 'editor', to: 'viewer', at: '', endedSessionIds: ['s8'] }),
      // The session's own stream alone (a crash before the user's stream was written).
      recorded('session-s9', 'SessionRevoked', { reason: 'logout', at: '' }, 3n),
      recorded('user-u6', 'ProfileUpdated', { changes: [] }),
    ]);
    expect(revoked.map((r) => [r.sessionId, r.minVersion])).toEqual(
      ['s1', 's2', 's3', 's5', 's6', 's7', 's8', 's9'].map((sid) => [sid, REVOKED]),
    );
    expect(revoked.every((r) => r.at === at)).toBe(true);
    expect(kept).toEqual(['s4']);
  });

  it("a kept session's access tokens below the refresh count of its last rotation that ended older ones are refused", () => {
    const refreshed = (n: bigint, ends = false) =>
      recorded(
        'session-s4',
        'SessionRefreshed',
        { previousTokenHash: 'a', refreshTokenHash: 'b', at: '', ...(ends ? { endsOlderAccessTokens: true } : {}) },
        n,
      );
    const stream = [recorded('session-s4', 'SessionStarted', {}), refreshed(1n), refreshed(2n, true), refreshed(3n)];
    expect(minVersionOf('s4', stream)).toEqual({ sessionId: 's4', minVersion: 2, at });
    expect(
      minVersionOf(
        's4',
        stream.filter((e) => !e.data.endsOlderAccessTokens),
      ),
    ).toBeNull();
  });
});
