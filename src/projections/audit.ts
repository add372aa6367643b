import { Knex } from 'knex';
import { ApiKeyEventType } from '../events/api-key';
import { ClaimEvent } from '../events/claim';
import { ContentEventType } from '../events/content';
import { PermissionEventType, UserGrantsEvent } from '../events/permission';
import { CatalogueSeedEvent, ServiceEventType } from '../events/service';
import { SessionEventType } from '../events/session';
import { UserEventType } from '../events/user';
import { RecordedEvent } from '../eventstore/types';
import { Projection } from './projection';
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

type AuditedType =
  | UserEventType
  | SessionEventType
  | ClaimEvent['type']
  | ContentEventType
  | ApiKeyEventType
  | ServiceEventType
  | CatalogueSeedEvent['type']
  | PermissionEventType
  | UserGrantsEvent['type'];

/** Every event type there is: a new type that is not listed here fails to compile. */
const AUDITED: Record<AuditedType, true> = {
  UserRegistered: true,
  EmailVerificationRequested: true,
  EmailVerified: true,
  RegistrationAttemptedOnExistingAccount: true,
  UserLoggedIn: true,
  SessionEnded: true,
  AllSessionsEnded: true,
  PasswordChanged: true,
  PasswordResetRequested: true,
  PasswordReset: true,
  ProfileUpdated: true,
  EmailChangeRequested: true,
  UserDeactivated: true,
  UserRestored: true,
  RoleChanged: true,
  SessionStarted: true,
  SessionRefreshed: true,
  SessionRevoked: true,
  ValueClaimed: true,
  ValueReleased: true,
  ContentCreated: true,
  ContentUpdated: true,
  ContentDeleted: true,
  ApiKeyCreated: true,
  ApiKeyRevoked: true,
  ServiceCreated: true,
  ServiceUpdated: true,
  ServiceDeleted: true,
  CatalogueSeeded: true,
  PermissionCreated: true,
  PermissionUpdated: true,
  PermissionDeleted: true,
  UserPermissionsSet: true,
};

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

/** Streams named after the user they belong to. */
const USER_STREAM_PREFIXES = ['user-', 'userGrants-'];
/** Claims whose owner is a user (service and permission names are owned by those). */
const USER_CLAIM_KINDS = new Set<unknown>(['email', 'username']);

/**
 * Whom an event is about: the user of a `user-<id>` or `userGrants-<id>` stream; else the user
 * the data names (a session's userId, an email claim's userId, a key's ownerId); else whom the
 * stream's earlier events were about (a session's refreshes and revocation, a key's revocation).
 * Content, services and permissions are not about a user: no subject.
 */
async function subjectOf(r: RecordedEvent, trx: Knex.Transaction, seen: Map<string, string>): Promise<string | null> {
  const prefix = USER_STREAM_PREFIXES.find((p) => r.streamId.startsWith(p));
  if (prefix) return uuidOrNull(r.streamId.slice(prefix.length));
  if (r.type === 'ValueClaimed' || r.type === 'ValueReleased') return USER_CLAIM_KINDS.has(r.data.kind) ? uuidOrNull(r.data.userId) : null;
  const named = uuidOrNull(r.data.userId) ?? uuidOrNull(r.data.ownerId);
  if (named) return named;
  // Earlier in this batch, remembered from an earlier one, or earlier in the table.
  const known = seen.get(r.streamId) ?? subjects.get(r.streamId);
  if (known) return known;
  const earlier = await trx('audit_log').where({ stream_id: r.streamId }).whereNotNull('subject_id').orderBy('seq').first('subject_id');
  return earlier?.subject_id ?? null;
}

/**
 * Streams' subjects seen lately (a session's refreshes name no user; its start does). A stream's
 * subject comes from its first events and never changes, so remembering it across batches, even
 * a batch that rolled back, cannot be wrong; it saves a query per refresh.
 */
const subjects = new BoundedMap<string, string>(100_000);

const rowOf = async (r: RecordedEvent, trx: Knex.Transaction, seen: Map<string, string>) => {
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

export const auditProjection: Projection = {
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
  handles: Object.keys(AUDITED),
  async apply(r: RecordedEvent, trx: Knex.Transaction) {
    await this.applyBatch!([r], trx);
  },
  // One multi-row INSERT per batch (in log order, so seq follows the log) instead of one per event.
  async applyBatch(events: RecordedEvent[], trx: Knex.Transaction) {
    const seen = new Map<string, string>();
    const rows = [];
    for (const r of events) rows.push(await rowOf(r, trx, seen));
    await insertJsonRows(trx, 'audit_log', AUDIT_COLUMNS, rows, 'event_id');
  },
};

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
