import { EventStore, RecordedEvent } from '../../eventstore/types';
import { eventsOf, unhandled } from '../../events/registry';
import { sessionIdOf, sessionStream } from '../../events/session';
import { Revocation, REVOKED } from '../../infra/revocations';

/**
 * Every event that ends sessions, in the user's stream (logout, DELETE session, eviction, reuse
 * detection, expiry: SessionEnded; logout-all, password change and reset, deactivation, role
 * change: the sessions they list) or in the session's own (SessionRevoked).
 */
export const SESSION_ENDING_EVENTS = ['SessionEnded', 'AllSessionsEnded', 'PasswordChanged', 'PasswordReset', 'UserDeactivated', 'RoleChanged', 'SessionRevoked'] as const;

const isSessionEnding = eventsOf(SESSION_ENDING_EVENTS);
const isRefresh = eventsOf(['SessionRefreshed']);

/**
 * What session-ending events say about access tokens: the sessions they end, and the sessions a
 * password change kept (whose older access tokens a rotation then refused; see minVersionOf).
 */
export function revocationsOf(events: readonly RecordedEvent[]): { revoked: Revocation[]; kept: string[] } {
  const revoked: Revocation[] = [];
  const kept: string[] = [];
  const end = (sessionIds: readonly string[], at: Date) => {
    for (const sessionId of sessionIds) revoked.push({ sessionId, minVersion: REVOKED, at });
  };
  for (const e of events.filter(isSessionEnding)) {
    switch (e.type) {
      case 'SessionRevoked':
        // Usually the user's stream says so too; not when a process died between the two appends.
        end([sessionIdOf(e.streamId)], e.createdAt);
        break;
      case 'SessionEnded':
        end([e.data.sessionId], e.createdAt);
        break;
      case 'PasswordChanged':
        end(e.data.endedSessionIds, e.createdAt);
        if (e.data.keepSessionId) kept.push(e.data.keepSessionId);
        break;
      case 'AllSessionsEnded':
      case 'PasswordReset':
      case 'UserDeactivated':
      case 'RoleChanged':
        end(e.data.endedSessionIds, e.createdAt);
        break;
      default:
        unhandled(e);
    }
  }
  return { revoked, kept };
}

/**
 * The lowest version a session's access tokens still need after its last rotation that ended
 * the older ones (a token carries the session's refresh count when issued), or null if none did.
 */
export function minVersionOf(sessionId: string, stream: readonly RecordedEvent[]): Revocation | null {
  let refreshes = 0;
  let found: Revocation | null = null;
  for (const e of stream.filter(isRefresh)) {
    refreshes++;
    if (e.data.endsOlderAccessTokens) found = { sessionId, minVersion: refreshes, at: e.createdAt };
  }
  return found;
}

/**
 * The revocation list as the log tells it: everything that ended a session, or its older access
 * tokens, since `since` (the lifetime of an access token ago). One indexed read of the recent log
 * (readRecent), plus the stream of each session a password change kept.
 */
export async function revocationsFromLog(store: EventStore, since: Date): Promise<Revocation[]> {
  const { revoked, kept } = revocationsOf(await store.readRecent(since, SESSION_ENDING_EVENTS));
  for (const sessionId of new Set(kept)) {
    const stream: RecordedEvent[] = [];
    for await (const r of store.read(sessionStream(sessionId))) stream.push(r);
    const min = minVersionOf(sessionId, stream);
    if (min && min.at >= since) revoked.push(min);
  }
  return revoked;
}
