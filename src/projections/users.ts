import { Knex } from 'knex';
import { RecordedOf, unhandled } from '../events/registry';
import { userIdOf } from '../events/user';
import { projection } from './projection';
import { insertJsonRows } from './bulk';

/** The `users` read table: the seed's columns plus what API.md returns. Never a password hash. */
export interface UserRow {
  id: string;
  email: string;
  username: string | null;
  first_name: string | null;
  last_name: string | null;
  name: string | null;
  profile: Record<string, unknown> | null;
  role: string;
  email_verified: boolean;
  pending_email: string | null;
  is_deleted: boolean;
  last_login_at: Date | null;
  created_by: string | null;
  updated_by: string | null;
  created_at: Date;
  updated_at: Date;
  search?: string;
}

const columnOf: Record<string, keyof UserRow> = {
  firstName: 'first_name',
  lastName: 'last_name',
  name: 'name',
  username: 'username',
  profile: 'profile',
};

const HANDLES = [
  'UserRegistered',
  'EmailVerified',
  'EmailChangeRequested',
  'UserLoggedIn',
  'PasswordChanged',
  'PasswordReset',
  'ProfileUpdated',
  'UserDeactivated',
  'UserRestored',
  'RoleChanged',
] as const;
type UsersEvent = RecordedOf<(typeof HANDLES)[number]>;

export const usersProjection = projection({
  name: 'users',
  version: 3,
  tables: ['users', 'users_stats'],
  async setup(db) {
    await db.raw(`
      CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
      CREATE TABLE IF NOT EXISTS users (
        id uuid PRIMARY KEY,
        email text NOT NULL,
        username text,
        first_name text,
        last_name text,
        name text,
        profile jsonb,
        role text NOT NULL,
        email_verified boolean NOT NULL DEFAULT false,
        pending_email text,
        is_deleted boolean NOT NULL DEFAULT false,
        last_login_at timestamptz,
        created_by uuid,
        updated_by uuid,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        -- What the admin list's q searches: one column, one trigram index.
        search text GENERATED ALWAYS AS (lower(email || ' ' || coalesce(username, '') || ' ' || coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || coalesce(name, ''))) STORED
      );
      CREATE INDEX IF NOT EXISTS users_email_idx ON users (email);
      CREATE INDEX IF NOT EXISTS users_search_trgm_idx ON users USING gin (search gin_trgm_ops);
      CREATE INDEX IF NOT EXISTS users_username_idx ON users (lower(username));
      CREATE INDEX IF NOT EXISTS users_created_at_idx ON users (created_at, id);
      CREATE INDEX IF NOT EXISTS users_last_name_idx ON users (last_name, id);
      CREATE INDEX IF NOT EXISTS users_last_login_idx ON users (last_login_at, id);
      CREATE INDEX IF NOT EXISTS users_role_idx ON users (role, created_at);

      -- Counts per (role, verified, deleted), kept by a trigger: a list's total without a scan.
      CREATE TABLE IF NOT EXISTS users_stats (
        role text NOT NULL,
        email_verified boolean NOT NULL,
        is_deleted boolean NOT NULL,
        n bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (role, email_verified, is_deleted)
      );
      CREATE OR REPLACE FUNCTION public.users_stats_apply() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
          UPDATE users_stats SET n = n - 1 WHERE role = OLD.role AND email_verified = OLD.email_verified AND is_deleted = OLD.is_deleted;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
          INSERT INTO users_stats AS s (role, email_verified, is_deleted, n) VALUES (NEW.role, NEW.email_verified, NEW.is_deleted, 1)
          ON CONFLICT (role, email_verified, is_deleted) DO UPDATE SET n = s.n + 1;
        END IF;
        RETURN NULL;
      END
      $fn$;
      -- Counted only when a counted column really changes (a batch UPDATE names every column).
      DROP TRIGGER IF EXISTS users_stats_trg ON users;
      CREATE OR REPLACE TRIGGER users_stats_insert_delete
        AFTER INSERT OR DELETE ON users
        FOR EACH ROW EXECUTE FUNCTION public.users_stats_apply();
      CREATE OR REPLACE TRIGGER users_stats_update
        AFTER UPDATE OF role, email_verified, is_deleted ON users
        FOR EACH ROW
        WHEN (OLD.role IS DISTINCT FROM NEW.role OR OLD.email_verified IS DISTINCT FROM NEW.email_verified OR OLD.is_deleted IS DISTINCT FROM NEW.is_deleted)
        EXECUTE FUNCTION public.users_stats_apply();
    `);
  },
  handles: HANDLES,
  apply: (e, trx) => applyUserEvents([e], trx),
  applyBatch: (events, trx) => applyUserEvents(events, trx),
  // API processes cache rows of the table that is gone.
  onReplaced: (trx) => trx.raw('SELECT pg_notify(?, ?)', [USERS_CHANGED_CHANNEL, ALL_USERS]),
});

type Columns = Partial<Record<keyof UserRow, unknown>>;

/** What one event does to its user's row: a whole new row, or columns to set. */
function changeOf(e: UsersEvent): { insert: Columns } | { set: Columns } {
  const id = userIdOf(e.streamId);
  const actor = e.metadata.actorId ?? id;
  const touch = { updated_at: e.createdAt, updated_by: actor };
  switch (e.type) {
    case 'UserRegistered': {
      const d = e.data;
      return {
        insert: {
          id,
          email: d.email,
          username: d.username,
          first_name: d.firstName,
          last_name: d.lastName,
          name: d.name,
          profile: d.profile,
          role: d.role,
          email_verified: d.emailVerified,
          pending_email: null,
          is_deleted: false,
          last_login_at: null,
          created_by: actor,
          updated_by: actor,
          created_at: e.createdAt,
          updated_at: e.createdAt,
        },
      };
    }
    case 'EmailVerified':
      return { set: { email: e.data.email, email_verified: true, pending_email: null, ...touch } };
    case 'EmailChangeRequested':
      return { set: { pending_email: e.data.newEmail, ...touch } };
    case 'UserLoggedIn':
      // A login is not an edit: updated_at/updated_by stay as they were.
      return { set: { last_login_at: e.data.at } };
    case 'PasswordChanged':
    case 'PasswordReset':
      return { set: touch };
    case 'ProfileUpdated': {
      const set: Columns = { ...touch };
      for (const c of e.data.changes) {
        const col = columnOf[c.field];
        if (col) set[col] = c.newValue;
      }
      return { set };
    }
    case 'UserDeactivated':
      return { set: { is_deleted: true, ...touch } };
    case 'UserRestored':
      return { set: { is_deleted: false, ...touch } };
    case 'RoleChanged':
      return { set: { role: e.data.to, ...touch } };
    default:
      return unhandled(e);
  }
}

/** SQL type of each column a change may set (the UPDATE reads them out of one jsonb document). */
const COLUMN_TYPES: Partial<Record<keyof UserRow, string>> = {
  email: 'text',
  username: 'text',
  first_name: 'text',
  last_name: 'text',
  name: 'text',
  profile: 'jsonb',
  role: 'text',
  email_verified: 'boolean',
  pending_email: 'text',
  is_deleted: 'boolean',
  last_login_at: 'timestamptz',
  updated_by: 'uuid',
  updated_at: 'timestamptz',
};

const setColumn = (col: string, type: string): string =>
  type === 'jsonb'
    ? `${col} = CASE WHEN jsonb_exists(c.doc, '${col}') THEN nullif(c.doc -> '${col}', 'null'::jsonb) ELSE u.${col} END`
    : `${col} = CASE WHEN jsonb_exists(c.doc, '${col}') THEN (c.doc ->> '${col}')::${type} ELSE u.${col} END`;

const UPDATE_USERS = `
  UPDATE users u SET ${Object.entries(COLUMN_TYPES)
    .map(([col, type]) => setColumn(col, type!))
    .join(',\n    ')}
  FROM jsonb_each(?::jsonb) AS c(id, doc)
  WHERE u.id = c.id::uuid`;

const INSERT_COLUMNS = [
  'id',
  'email',
  'username',
  'first_name',
  'last_name',
  'name',
  'profile',
  'role',
  'email_verified',
  'pending_email',
  'is_deleted',
  'last_login_at',
  'created_by',
  'updated_by',
  'created_at',
  'updated_at',
];

/**
 * A batch's user events folded per user (later events win, as applying them one by one would
 * do), then written as one multi-row INSERT and one UPDATE over a jsonb document of changes;
 * the ids changed are announced to API processes' user caches in the same transaction.
 */
async function applyUserEvents(events: UsersEvent[], trx: Knex.Transaction): Promise<void> {
  const inserts = new Map<string, Columns>();
  const updates = new Map<string, Columns>();
  for (const e of events) {
    const change = changeOf(e);
    const id = userIdOf(e.streamId);
    if ('insert' in change) {
      if (!inserts.has(id)) inserts.set(id, change.insert);
      continue;
    }
    const target = inserts.get(id) ?? updates.get(id);
    if (target) Object.assign(target, change.set);
    else updates.set(id, { ...change.set });
  }
  await insertJsonRows(trx, 'users', INSERT_COLUMNS, [...inserts.values()], 'id');
  if (updates.size) await trx.raw(UPDATE_USERS, [JSON.stringify(Object.fromEntries(updates))]);
  for (const payload of usersChangedPayloads([...inserts.keys(), ...updates.keys()])) {
    await trx.raw('SELECT pg_notify(?, ?)', [USERS_CHANGED_CHANNEL, payload]);
  }
}

/** Channel the users projection notifies, in its batch transaction, with the ids it changed (API processes' UserCache listens). */
export const USERS_CHANGED_CHANNEL = 'iam_users_changed';
/** Payload meaning "forget everything" (a replay swapped the table in, or too many ids). */
export const ALL_USERS = '*';
/** NOTIFY payloads are limited to 8000 bytes: ids go in chunks, a huge batch as ALL_USERS. */
const IDS_PER_NOTIFICATION = 200;
const MAX_NOTIFIED_IDS = 5000;

function usersChangedPayloads(ids: Iterable<string>): string[] {
  const all = [...new Set(ids)];
  if (all.length === 0) return [];
  if (all.length > MAX_NOTIFIED_IDS) return [ALL_USERS];
  const out: string[] = [];
  for (let i = 0; i < all.length; i += IDS_PER_NOTIFICATION) out.push(all.slice(i, i + IDS_PER_NOTIFICATION).join(','));
  return out;
}

/** The user as API.md returns it. */
export const presentUser = (u: UserRow) => ({
  id: u.id,
  email: u.email,
  username: u.username,
  name: u.name ?? ([u.first_name, u.last_name].filter(Boolean).join(' ') || null),
  firstName: u.first_name,
  lastName: u.last_name,
  profile: u.profile,
  role: u.role,
  emailVerified: u.email_verified,
  pendingEmail: u.pending_email,
  isDeleted: u.is_deleted,
  lastLoginAt: u.last_login_at,
  createdAt: u.created_at,
  updatedAt: u.updated_at,
  createdBy: u.created_by,
  updatedBy: u.updated_by,
});

export type PresentedUser = ReturnType<typeof presentUser>;

/** How many users match filters on role, verification and deletion, from users_stats. */
export async function countUsers(db: Knex, f: { role?: string; emailVerified?: boolean; includeDeleted?: boolean }): Promise<number> {
  const q = db('users_stats').sum({ n: 'n' });
  if (f.role) q.where('role', f.role);
  if (f.emailVerified !== undefined) q.where('email_verified', f.emailVerified);
  if (!f.includeDeleted) q.where('is_deleted', false);
  const [{ n }] = (await q) as { n: string | null }[];
  return Number(n ?? 0);
}

export const findUserById = async (db: Knex, id: string): Promise<UserRow | undefined> => db<UserRow>('users').where({ id }).first();
