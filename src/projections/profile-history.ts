import { Knex } from 'knex';
import { asDomainEvent } from '../commands/handle';
import { UserEvent } from '../events/user';
import { RecordedEvent } from '../eventstore/types';
import { Projection } from './projection';
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

const row = (r: RecordedEvent, seq: number, field: string, oldValue: unknown, newValue: unknown) => ({
  event_id: r.id,
  seq,
  user_id: r.streamId.slice('user-'.length),
  type: r.type,
  field,
  old_value: oldValue ?? null,
  new_value: newValue ?? null,
  actor_id: r.metadata.actorId ?? null,
  at: r.createdAt,
});

export const profileHistoryProjection: Projection = {
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
  handles: ['UserRegistered', 'ProfileUpdated', 'EmailChangeRequested', 'EmailVerified', 'PasswordChanged', 'PasswordReset', 'RoleChanged', 'UserDeactivated', 'UserRestored'],
  apply(r: RecordedEvent, trx: Knex.Transaction) {
    return insertRows(rowsOf(r), trx);
  },
  // One multi-row INSERT per batch instead of one per event.
  applyBatch(events: RecordedEvent[], trx: Knex.Transaction) {
    return insertRows(events.flatMap(rowsOf), trx);
  },
};

type Row = ReturnType<typeof row>;

const COLUMNS = ['event_id', 'seq', 'user_id', 'type', 'field', 'old_value', 'new_value', 'actor_id', 'at'];

const insertRows = (rows: Row[], trx: Knex.Transaction): Promise<void> => insertJsonRows(trx, 'profile_history', COLUMNS, rows, 'event_id, seq');

function rowsOf(r: RecordedEvent): Row[] {
    const e = asDomainEvent<UserEvent>(r);
    let rows: Row[] = [];
    switch (e.type) {
      case 'UserRegistered':
        rows = [row(r, 0, 'account', null, 'created')];
        break;
      case 'ProfileUpdated':
        rows = e.data.changes.map((c, i) => row(r, i, c.field, c.oldValue, c.newValue));
        break;
      case 'EmailChangeRequested':
        rows = [row(r, 0, 'pendingEmail', null, e.data.newEmail)];
        break;
      case 'EmailVerified':
        rows = e.data.previousEmail ? [row(r, 0, 'email', e.data.previousEmail, e.data.email)] : [row(r, 0, 'emailVerified', false, true)];
        break;
      case 'PasswordChanged':
      case 'PasswordReset':
        rows = [row(r, 0, 'password', null, null)];
        break;
      case 'RoleChanged':
        rows = [row(r, 0, 'role', e.data.from, e.data.to)];
        break;
      case 'UserDeactivated':
        rows = [row(r, 0, 'isDeleted', false, true)];
        break;
      case 'UserRestored':
        rows = [row(r, 0, 'isDeleted', true, false)];
        break;
      default:
        return [];
    }
    return rows;
}
