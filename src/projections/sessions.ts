import { Knex } from 'knex';
import { asDomainEvent } from '../commands/handle';
import { SessionEvent } from '../events/session';
import { UserEvent } from '../events/user';
import { RecordedEvent } from '../eventstore/types';
import { insertJsonRows } from './bulk';
import { Projection, runsOf } from './projection';

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

export const sessionsProjection: Projection = {
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
  // The user's stream says which sessions ended the moment they end; the session streams
  // follow through the revoke job. Listening to both keeps the list right at once.
  handles: ['SessionStarted', 'SessionRefreshed', 'SessionRevoked', 'SessionEnded', 'AllSessionsEnded', 'PasswordChanged', 'PasswordReset', 'UserDeactivated', 'RoleChanged'],
  /**
   * A batch in log order, with runs of sign-ins inserted by one statement and runs of refreshes
   * (the bulk of the traffic) folded per session into one UPDATE; everything else row by row.
   */
  async applyBatch(events: RecordedEvent[], trx: Knex.Transaction) {
    // Events of user streams (sessions ended there) are runs of their own, applied one by one.
    for (const run of runsOf(events, (e) => (e.streamId.startsWith('session-') ? e.type : `user:${e.id}`))) {
      if (run[0].type === 'SessionStarted') await insertStarted(run, trx);
      else if (run[0].type === 'SessionRefreshed') await updateRefreshed(run, trx);
      else for (const e of run) await sessionsProjection.apply(e, trx);
    }
  },
  async apply(r: RecordedEvent, trx: Knex.Transaction) {
    if (r.streamId.startsWith('user-')) return endFromUserStream(asDomainEvent<UserEvent>(r), r, trx);
    const e = asDomainEvent<SessionEvent>(r);
    const id = r.streamId.slice('session-'.length);
    switch (e.type) {
      case 'SessionStarted':
        await trx('sessions')
          .insert({
            id,
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
          .where({ id })
          .update({ last_refresh_at: e.data.at, refresh_count: trx.raw('refresh_count + 1') });
        return;
      case 'SessionRevoked':
        await trx('sessions').where({ id }).whereNull('revoked_at').update({ revoked_at: e.data.at, revoke_reason: e.data.reason });
        return;
    }
  },
};

const sessionIdOf = (r: RecordedEvent): string => r.streamId.slice('session-'.length);

function insertStarted(run: RecordedEvent[], trx: Knex.Transaction): Promise<void> {
  const rows = run.map((r) => {
    const d = asDomainEvent<Extract<SessionEvent, { type: 'SessionStarted' }>>(r).data;
    return { id: sessionIdOf(r), user_id: d.userId, device_id: d.deviceId, ip: d.ip, user_agent: d.userAgent, created_at: d.startedAt, absolute_expires_at: d.absoluteExpiresAt };
  });
  return insertJsonRows(trx, 'sessions', ['id', 'user_id', 'device_id', 'ip', 'user_agent', 'created_at', 'absolute_expires_at'], rows, 'id');
}

async function updateRefreshed(run: RecordedEvent[], trx: Knex.Transaction): Promise<void> {
  const bySession = new Map<string, { id: string; at: string; n: number }>();
  for (const r of run) {
    const id = sessionIdOf(r);
    const at = asDomainEvent<Extract<SessionEvent, { type: 'SessionRefreshed' }>>(r).data.at;
    const s = bySession.get(id);
    if (s) {
      s.at = at;
      s.n++;
    } else bySession.set(id, { id, at, n: 1 });
  }
  await trx.raw(
    `UPDATE sessions s SET last_refresh_at = r.at, refresh_count = s.refresh_count + r.n
     FROM json_to_recordset(?::json) AS r(id uuid, at timestamptz, n integer) WHERE s.id = r.id`,
    [JSON.stringify([...bySession.values()])],
  );
}

async function endFromUserStream(e: UserEvent, r: RecordedEvent, trx: Knex.Transaction): Promise<void> {
  const end = (ids: string[], reason: string) =>
    ids.length ? trx('sessions').whereIn('id', ids).whereNull('revoked_at').update({ revoked_at: r.createdAt, revoke_reason: reason }) : undefined;
  switch (e.type) {
    case 'SessionEnded':
      await end([e.data.sessionId], e.data.reason);
      return;
    case 'AllSessionsEnded':
      await end(e.data.endedSessionIds, e.data.reason);
      return;
    case 'PasswordChanged':
      await end(e.data.endedSessionIds, 'password-changed');
      return;
    case 'PasswordReset':
      await end(e.data.endedSessionIds, 'password-reset');
      return;
    case 'UserDeactivated':
      await end(e.data.endedSessionIds, 'deactivated');
      return;
    case 'RoleChanged':
      await end(e.data.endedSessionIds, 'role-changed');
      return;
    default:
      return;
  }
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
