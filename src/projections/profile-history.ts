import { Knex } from 'knex';
import { RecordedOf, unhandled } from '../events/registry';
import { userIdOf } from '../events/user';
import { projection } from './projection';
import { insertJsonRows } from './bulk';

/**
 * The audit trail of profile changes, one row per changed field. Password changes are listed
 * without values. The actor is whoever's request caused the event (the user, or an admin).
 */
export interface HistoryRow {
  event_id: string;
  seq: number;
  user_id: string;
  type: string;
  field: string;
  old_value: unknown;
  new_value: unknown;
  actor_id: string | null;
  at: Date;
}

const HANDLES = [
  'UserRegistered',
  'ProfileUpdated',
  'EmailChangeRequested',
  'EmailVerified',
  'PasswordChanged',
  'PasswordReset',
  'RoleChanged',
  'UserDeactivated',
  'UserRestored',
] as const;
type HistoryEvent = RecordedOf<(typeof HANDLES)[number]>;

const row = (e: HistoryEvent, seq: number, field: string, oldValue: unknown, newValue: unknown) => ({
  event_id: e.id,
  seq,
  user_id: userIdOf(e.streamId),
  type: e.type,
  field,
  old_value: oldValue ?? null,
  new_value: newValue ?? null,
  actor_id: e.metadata.actorId ?? null,
  at: e.createdAt,
});

export const profileHistoryProjection = projection({
  name: 'profile_history',
  version: 1,
  tables: ['profile_history'],
  async setup(db) {
    await db.raw(`
      CREATE TABLE IF NOT EXISTS profile_history (
        event_id uuid NOT NULL,
        seq integer NOT NULL,
        user_id uuid NOT NULL,
        type text NOT NULL,
        field text NOT NULL,
        old_value jsonb,
        new_value jsonb,
        actor_id uuid,
        at timestamptz NOT NULL,
        PRIMARY KEY (event_id, seq)
      );
      CREATE INDEX IF NOT EXISTS profile_history_user_at_idx ON profile_history (user_id, at DESC, event_id, seq);
    `);
  },
  handles: HANDLES,
  apply(e, trx) {
    return insertRows(rowsOf(e), trx);
  },
  // One multi-row INSERT per batch instead of one per event.
  applyBatch(events, trx) {
    return insertRows(events.flatMap(rowsOf), trx);
  },
});

type Row = ReturnType<typeof row>;

const COLUMNS = ['event_id', 'seq', 'user_id', 'type', 'field', 'old_value', 'new_value', 'actor_id', 'at'];

const insertRows = (rows: Row[], trx: Knex.Transaction): Promise<void> =>
  insertJsonRows(trx, 'profile_history', COLUMNS, rows, 'event_id, seq');

function rowsOf(e: HistoryEvent): Row[] {
  switch (e.type) {
    case 'UserRegistered':
      return [row(e, 0, 'account', null, 'created')];
    case 'ProfileUpdated':
      return e.data.changes.map((c, i) => row(e, i, c.field, c.oldValue, c.newValue));
    case 'EmailChangeRequested':
      return [row(e, 0, 'pendingEmail', null, e.data.newEmail)];
    case 'EmailVerified':
      return e.data.previousEmail ? [row(e, 0, 'email', e.data.previousEmail, e.data.email)] : [row(e, 0, 'emailVerified', false, true)];
    case 'PasswordChanged':
    case 'PasswordReset':
      return [row(e, 0, 'password', null, null)];
    case 'RoleChanged':
      return [row(e, 0, 'role', e.data.from, e.data.to)];
    case 'UserDeactivated':
      return [row(e, 0, 'isDeleted', false, true)];
    case 'UserRestored':
      return [row(e, 0, 'isDeleted', true, false)];
    default:
      return unhandled(e);
  }
}
