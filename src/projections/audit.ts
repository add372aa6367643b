import { Knex } from 'knex';
import { userIdOfGrants } from '../events/permission';
import { EVENT_TYPES, eventsOf, Recorded, typesOf } from '../events/registry';
import { userIdOf } from '../events/user';
import { projection } from './projection';
import { insertJsonRows } from './bulk';
import { BoundedMap } from '../infra/bounded';

/**
 * The event log as an audit trail: one row per event of every kind, with who did it (metadata),
 * from where, and whom it is about. Secrets never reach this table, not even as hashes.
 */
export interface AuditRow {
  event_id: string;
  seq: string;
  at: Date;
  type: string;
  stream_id: string;
  subject_id: string | null;
  actor_id: string | null;
  api_key_id: string | null;
  ip: string | null;
  user_agent: string | null;
  data: Record<string, unknown>;
}

/** Hashes of passwords, tokens and keys, and the ids one-time tokens are derived from. */
const SECRET_FIELDS = new Set(['passwordHash', 'tokenHash', 'refreshTokenHash', 'previousTokenHash', 'keyHash', 'tokenId']);

/** The data with every secret field removed, at any depth. */
export const withoutSecrets = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([k]) => !SECRET_FIELDS.has(k))
      .map(([k, v]) => [k, withoutSecrets(v)]),
  );
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const uuidOrNull = (v: unknown): string | null => (typeof v === 'string' && UUID.test(v) ? v : null);

/** Claims whose owner is a user (service and permission names are owned by those). */
const USER_CLAIM_KINDS = new Set<unknown>(['email', 'username']);

const isUserEvent = eventsOf(typesOf('user'));
/** The subject is whom the stream's earlier events were about. */
const AS_BEFORE = Symbol('as before');

/**
 * Whom an event is about: the user of a `user-<id>` or `userGrants-<id>` stream; else the user
 * the data names (a session's userId, an email claim's userId, a key's ownerId); else whom the
 * stream's earlier events were about (a session's refreshes and revocation, a key's revocation).
 * Content, services and permissions are not about a user: no subject.
 */
function subjectNamedBy(e: Recorded): string | null | typeof AS_BEFORE {
  if (isUserEvent(e)) return uuidOrNull(userIdOf(e.streamId));
  switch (e.type) {
    case 'UserPermissionsSet':
      return uuidOrNull(userIdOfGrants(e.streamId));
    case 'ValueClaimed':
    case 'ValueReleased':
      return USER_CLAIM_KINDS.has(e.data.kind) ? uuidOrNull(e.data.userId) : null;
    case 'SessionStarted':
      return uuidOrNull(e.data.userId) ?? AS_BEFORE;
    case 'ApiKeyCreated':
      return uuidOrNull(e.data.ownerId) ?? AS_BEFORE;
    case 'SessionRefreshed':
    case 'SessionRevoked':
    case 'ApiKeyRevoked':
      return AS_BEFORE;
    case 'ContentCreated':
    case 'ContentUpdated':
    case 'ContentDeleted':
    case 'ServiceCreated':
    case 'ServiceUpdated':
    case 'ServiceDeleted':
    case 'CatalogueSeeded':
    case 'PermissionCreated':
    case 'PermissionUpdated':
    case 'PermissionDeleted':
      return null;
  }
}

async function subjectOf(e: Recorded, trx: Knex.Transaction, seen: Map<string, string>): Promise<string | null> {
  const named = subjectNamedBy(e);
  if (named !== AS_BEFORE) return named;
  // Earlier in this batch, remembered from an earlier one, or earlier in the table.
  const known = seen.get(e.streamId) ?? subjects.get(e.streamId);
  if (known) return known;
  const earlier = await trx('audit_log').where({ stream_id: e.streamId }).whereNotNull('subject_id').orderBy('seq').first('subject_id');
  return earlier?.subject_id ?? null;
}

/**
 * Streams' subjects seen lately (a session's refreshes name no user; its start does). A stream's
 * subject comes from its first events and never changes, so remembering it across batches, even
 * a batch that rolled back, cannot be wrong; it saves a query per refresh.
 */
const subjects = new BoundedMap<string, string>(100_000);

const rowOf = async (r: Recorded, trx: Knex.Transaction, seen: Map<string, string>) => {
  const subject = await subjectOf(r, trx, seen);
  if (subject) {
    seen.set(r.streamId, subject);
    // The first subject stays: that is what the table lookup would find.
    if (!subjects.has(r.streamId)) subjects.set(r.streamId, subject);
  }
  return {
    event_id: r.id,
    at: r.createdAt,
    type: r.type,
    stream_id: r.streamId,
    subject_id: subject,
    actor_id: uuidOrNull(r.metadata.actorId),
    api_key_id: uuidOrNull(r.metadata.apiKeyId),
    ip: text(r.metadata.ip, 64),
    user_agent: text(r.metadata.userAgent, 512),
    data: withoutSecrets(r.data),
  };
};

const text = (v: unknown, max: number): string | null => (typeof v === 'string' ? v.slice(0, max) : null);

const AUDIT_COLUMNS = ['event_id', 'at', 'type', 'stream_id', 'subject_id', 'actor_id', 'api_key_id', 'ip', 'user_agent', 'data'];

export const auditProjection = projection({
  name: 'audit_log',
  version: 1,
  tables: ['audit_log'],
  // Nobody waits for it (see FOLLOW_UP_READ_MODELS): its writes stay out of their batches.
  group: 'audit',
  // subjectOf looks up a stream's earlier entries.
  readIndexes: ['audit_log_stream_idx'],
  async setup(db) {
    // seq keeps the log's order among events with the same timestamp.
    await db.raw(`
      CREATE TABLE IF NOT EXISTS audit_log (
        event_id uuid PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        at timestamptz NOT NULL,
        type text NOT NULL,
        stream_id text NOT NULL,
        subject_id uuid,
        actor_id uuid,
        api_key_id uuid,
        ip text,
        user_agent text,
        data jsonb NOT NULL
      );
      CREATE INDEX IF NOT EXISTS audit_log_at_idx ON audit_log (at, seq);
      CREATE INDEX IF NOT EXISTS audit_log_subject_idx ON audit_log (subject_id, at);
      CREATE INDEX IF NOT EXISTS audit_log_actor_idx ON audit_log (actor_id, at);
      CREATE INDEX IF NOT EXISTS audit_log_type_idx ON audit_log (type, at);
      CREATE INDEX IF NOT EXISTS audit_log_stream_idx ON audit_log (stream_id, seq);
    `);
  },
  // Every event type there is (src/events/registry.ts): a new one is audited without a line here.
  handles: EVENT_TYPES,
  apply: (e, trx) => insertRows([e], trx),
  applyBatch: insertRows,
});

/** One multi-row INSERT per batch (in log order, so seq follows the log) instead of one per event. */
async function insertRows(events: Recorded[], trx: Knex.Transaction): Promise<void> {
  const seen = new Map<string, string>();
  const rows = [];
  for (const e of events) rows.push(await rowOf(e, trx, seen));
  await insertJsonRows(trx, 'audit_log', AUDIT_COLUMNS, rows, 'event_id');
}

export type AuditWithActor = AuditRow & { actor_email: string | null };

/** An audit entry as GET /api/audit returns it. */
export const presentAudit = (a: AuditWithActor) => ({
  eventId: a.event_id,
  type: a.type,
  at: a.at,
  stream: a.stream_id,
  subjectId: a.subject_id,
  actor: { id: a.actor_id, email: a.actor_email },
  apiKeyId: a.api_key_id,
  ip: a.ip,
  userAgent: a.user_agent,
  data: a.data,
});
