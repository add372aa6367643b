import { Knex } from 'knex';
import { RecordedOf } from '../events/registry';
import { SESSION_ENDING_USER_EVENTS, sessionsEndedBy } from '../events/session-ends';
import { sessionIdOf } from '../events/session';
import { insertJsonRows } from './bulk';
import { isRunOf, projection, runsOf } from './projection';

/** Device sessions for listing (GET /sessions). Security decisions never read this table. */
export interface SessionRow {
  id: string;
  user_id: string;
  device_id: string;
  ip: string | null;
  user_agent: string | null;
  created_at: Date;
  last_refresh_at: Date | null;
  refresh_count: number;
  absolute_expires_at: Date;
  revoked_at: Date | null;
  revoke_reason: string | null;
}

// The user's stream says which sessions ended the moment they end; the session streams
// follow through the revoke job. Listening to both keeps the list right at once.
const HANDLES = ['SessionStarted', 'SessionRefreshed', 'SessionRevoked', ...SESSION_ENDING_USER_EVENTS] as const;
type SessionsEvent = RecordedOf<(typeof HANDLES)[number]>;

export const sessionsProjection = projection({
  name: 'sessions',
  version: 1,
  tables: ['sessions'],
  async setup(db) {
    await db.raw(`
      CREATE TABLE IF NOT EXISTS sessions (
        id uuid PRIMARY KEY,
        user_id uuid NOT NULL,
        device_id text NOT NULL,
        ip text,
        user_agent text,
        created_at timestamptz NOT NULL,
        last_refresh_at timestamptz,
        refresh_count integer NOT NULL DEFAULT 0,
        absolute_expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        revoke_reason text
      );
      CREATE INDEX IF NOT EXISTS sessions_user_live_idx ON sessions (user_id, created_at) WHERE revoked_at IS NULL;
    `);
  },
  handles: HANDLES,
  /**
   * A batch in log order, with runs of sign-ins inserted by one statement and runs of refreshes
   * (the bulk of the traffic) folded per session into one UPDATE; everything else row by row.
   */
  async applyBatch(events, trx) {
    for (const run of runsOf(events)) {
      if (isRunOf(run, 'SessionStarted')) await insertStarted(run, trx);
      else if (isRunOf(run, 'SessionRefreshed')) await updateRefreshed(run, trx);
      else for (const e of run) await applyOne(e, trx);
    }
  },
  apply: (e, trx) => applyOne(e, trx),
});

/** One event by itself (the batch path's runs are checked against this in tests/integration/projection-batches.test.ts). */
async function applyOne(e: SessionsEvent, trx: Knex.Transaction): Promise<void> {
  switch (e.type) {
    case 'SessionStarted':
      await trx('sessions')
        .insert({
          id: sessionIdOf(e.streamId),
          user_id: e.data.userId,
          device_id: e.data.deviceId,
          ip: e.data.ip,
          user_agent: e.data.userAgent,
          created_at: e.data.startedAt,
          absolute_expires_at: e.data.absoluteExpiresAt,
        })
        .onConflict('id')
        .ignore();
      return;
    case 'SessionRefreshed':
      await trx('sessions')
        .where({ id: sessionIdOf(e.streamId) })
        .update({ last_refresh_at: e.data.at, refresh_count: trx.raw('refresh_count + 1') });
      return;
    case 'SessionRevoked':
      await trx('sessions')
        .where({ id: sessionIdOf(e.streamId) })
        .whereNull('revoked_at')
        .update({ revoked_at: e.data.at, revoke_reason: e.data.reason });
      return;
    default: {
      const { sessionIds, reason } = sessionsEndedBy(e);
      if (sessionIds.length)
        await trx('sessions').whereIn('id', sessionIds).whereNull('revoked_at').update({ revoked_at: e.createdAt, revoke_reason: reason });
    }
  }
}

function insertStarted(run: RecordedOf<'SessionStarted'>[], trx: Knex.Transaction): Promise<void> {
  const rows = run.map(({ streamId, data: d }) => ({
    id: sessionIdOf(streamId),
    user_id: d.userId,
    device_id: d.deviceId,
    ip: d.ip,
    user_agent: d.userAgent,
    created_at: d.startedAt,
    absolute_expires_at: d.absoluteExpiresAt,
  }));
  return insertJsonRows(
    trx,
    'sessions',
    ['id', 'user_id', 'device_id', 'ip', 'user_agent', 'created_at', 'absolute_expires_at'],
    rows,
    'id',
  );
}

async function updateRefreshed(run: RecordedOf<'SessionRefreshed'>[], trx: Knex.Transaction): Promise<void> {
  const bySession = new Map<string, { id: string; at: string; n: number }>();
  for (const e of run) {
    const id = sessionIdOf(e.streamId);
    const s = bySession.get(id);
    if (s) {
      s.at = e.data.at;
      s.n++;
    } else bySession.set(id, { id, at: e.data.at, n: 1 });
  }
  await trx.raw(
    `UPDATE sessions s SET last_refresh_at = r.at, refresh_count = s.refresh_count + r.n
     FROM json_to_recordset(?::json) AS r(id uuid, at timestamptz, n integer) WHERE s.id = r.id`,
    [JSON.stringify([...bySession.values()])],
  );
}

export const presentSession = (s: SessionRow, currentSessionId: string | null) => ({
  id: s.id,
  deviceId: s.device_id,
  userAgent: s.user_agent,
  ip: s.ip,
  createdAt: s.created_at,
  lastRefreshAt: s.last_refresh_at,
  refreshCount: s.refresh_count,
  expiresAt: s.absolute_expires_at,
  current: s.id === currentSessionId,
});

/** Live sessions of a user, newest first. */
export const liveSessions = (db: Knex, userId: string): Promise<SessionRow[]> =>
  db<SessionRow>('sessions')
    .where({ user_id: userId })
    .whereNull('revoked_at')
    .andWhere('absolute_expires_at', '>', db.fn.now())
    .orderBy('created_at', 'desc');
