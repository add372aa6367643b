import { EventStore, RecordedEvent } from '../../eventstore/types';
import { eventsOf } from '../../events/registry';
import { SESSION_ENDING_USER_EVENTS, sessionsEndedBy } from '../../events/session-ends';
import { sessionIdOf, sessionStream } from '../../events/session';
import { Revocation, REVOKED } from '../../infra/revocations';

/**
 * Every event that ends sessions: in the user's stream (src/events/session-ends.ts), or in the
 * session's own (SessionRevoked).
 */
export const SESSION_ENDING_EVENTS = [...SESSION_ENDING_USER_EVENTS, 'SessionRevoked'] as const;

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
    // Usually the user's stream says so too; not when a process died between the two appends.
    if (e.type === 'SessionRevoked') {
      end([sessionIdOf(e.streamId)], e.createdAt);
      continue;
    }
    end(sessionsEndedBy(e).sessionIds, e.createdAt);
    if (e.type === 'PasswordChanged' && e.data.keepSessionId) kept.push(e.data.keepSessionId);
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
