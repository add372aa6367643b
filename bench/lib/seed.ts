/**
 * Seeds the PostgreSQL event store directly: events are built in TypeScript against the domain's
 * event types (so a changed payload fails the type check here too) and inserted in batches of a
 * few thousand rows per statement (`json_to_recordset`, several connections at once), with
 * `es_streams` kept at each stream's last revision in the same transaction. Columns with
 * defaults (`global_position`, `transaction_id`) are left to the schema; `created_at` is set to
 * the event's business time, as the projections read it.
 *
 * Ordering: a batch is one transaction, so all events of one stream that must stay in order are
 * put in the same batch, in order (the log is read by (transaction id, position)).
 */
import { randomUUID } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { Pool, PoolClient } from 'pg';
import { claimStream, ClaimEvent, normaliseCatalogueName, normaliseEmail, normaliseUsername } from '../../src/events/claim';
import { PermissionEvent, permissionStream, UserGrantsEvent, userGrantsStream } from '../../src/events/permission';
import { ServiceEvent, serviceStream } from '../../src/events/service';
import { Role, UserEvent, userStream } from '../../src/events/user';
import { prehash } from '../../src/infra/password-hasher';
import { ADMIN_EMAIL, seedEmail } from './accounts';

/** One row of es_events as the seed writes it. */
export interface SeedEvent {
  stream: string;
  revision: number;
  id: string;
  type: string;
  data: object;
  metadata: object;
  at: string;
}

type Typed<E extends { type: string; data: object }> = { [K in E['type']]: Extract<E, { type: K }>['data'] };
/** Builds an event whose data is checked against the domain union. */
const ev = <E extends { type: string; data: object }, T extends E['type']>(
  stream: string,
  revision: number,
  type: T,
  data: Typed<E>[T],
  metadata: object,
  at: string,
): SeedEvent => ({ stream, revision, id: randomUUID(), type, data, metadata, at });

const INSERT_EVENTS = `
  WITH ins AS (
    INSERT INTO es_events (stream_id, stream_revision, event_id, event_type, data, metadata, created_at)
    SELECT e->>'s', (e->>'r')::bigint, (e->>'i')::uuid, e->>'t', (e->'d')::jsonb, (e->'m')::jsonb, (e->>'c')::timestamptz
    FROM json_array_elements($1::json) WITH ORDINALITY AS a(e, n)
    ORDER BY a.n
    RETURNING 1
  ) SELECT count(*)::int AS n FROM ins`;

const UPSERT_STREAMS = `
  INSERT INTO es_streams (stream_id, revision)
  SELECT x.s, max(x.r) FROM json_to_recordset($1::json) AS x(s text, r bigint) GROUP BY x.s
  ON CONFLICT (stream_id) DO UPDATE SET revision = GREATEST(es_streams.revision, EXCLUDED.revision)`;

/** Inserts batches with `concurrency` connections; each batch (and its stream revisions) in one transaction. */
export async function insertBatches(
  pool: Pool,
  batches: AsyncIterable<SeedEvent[]> | Iterable<SeedEvent[]>,
  concurrency: number,
  onBatch: (n: number) => void,
): Promise<number> {
  const it = (
    Symbol.asyncIterator in batches
      ? (batches as AsyncIterable<SeedEvent[]>)[Symbol.asyncIterator]()
      : (batches as Iterable<SeedEvent[]>)[Symbol.iterator]()
  ) as AsyncIterator<SeedEvent[]> | Iterator<SeedEvent[]>;
  let total = 0;
  const one = async (client: PoolClient, batch: SeedEvent[]) => {
    const rows = batch.map((e) => ({ s: e.stream, r: e.revision, i: e.id, t: e.type, d: e.data, m: e.metadata, c: e.at }));
    await client.query('BEGIN');
    try {
      const { rows: r } = await client.query<{ n: number }>(INSERT_EVENTS, [JSON.stringify(rows)]);
      await client.query(UPSERT_STREAMS, [JSON.stringify(rows.map((x) => ({ s: x.s, r: x.r })))]);
      await client.query('COMMIT');
      total += r[0].n;
      onBatch(r[0].n);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  };
  const worker = async () => {
    const client = await pool.connect();
    try {
      for (;;) {
        const next = await it.next();
        if (next.done) return;
        await one(client, next.value);
      }
    } finally {
      client.release();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return total;
}

const FIRST = [
  'Ada',
  'Alan',
  'Grace',
  'Linus',
  'Barbara',
  'Edsger',
  'Margaret',
  'Ken',
  'Frances',
  'Dennis',
  'Radia',
  'Donald',
  'Hedy',
  'Tim',
  'Karen',
  'John',
  'Sophie',
  'Niklaus',
  'Adele',
  'Guido',
];
const LAST = [
  'Lovelace',
  'Turing',
  'Hopper',
  'Torvalds',
  'Liskov',
  'Dijkstra',
  'Hamilton',
  'Thompson',
  'Allen',
  'Ritchie',
  'Perlman',
  'Knuth',
  'Lamarr',
  'Berners-Lee',
  'Jones',
  'McCarthy',
  'Wilson',
  'Wirth',
  'Goldberg',
  'van Rossum',
];

const seededProfile = (i: number): Record<string, unknown> | null =>
  i % 3 === 0 ? { locale: ['en-GB', 'de-DE', 'fr-FR', 'es-ES'][i % 4], newsletter: i % 2 === 0 } : null;

/** The next value from a list that differs from the current one (the decider records real changes only). */
const differentFrom = (list: readonly string[], start: number, current: string | null): string => {
  const v = list[start % list.length];
  return v === current ? list[(start + 1) % list.length] : v;
};

/** Deterministic pseudo-random numbers, so every run seeds alike. */
const rng = (seed: number) => () => {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 2 ** 32;
};

export interface SeedPlan {
  users: number;
  services: number;
  permissions: number;
  /** Share of users holding grants (1-5 permissions each). */
  grantShare: number;
  password: string;
  bcryptCost: number;
}

export interface SeededIds {
  userIds: string[];
  adminId: string;
  serviceIds: string[];
  permissionIds: string[];
  passwordHash: string;
  /** Registration instant of user i, ms since the epoch. */
  registeredAt: (i: number) => number;
}

const meta = (actorId: string | null) => ({ correlationId: randomUUID(), ip: null, userAgent: 'bench-seed', actorId });

/** Builds every seed event: users (verified) with their email/username claims, services, permissions, grants. */
export function* seedEvents(plan: SeedPlan, ids: SeededIds, batchSize: number): Generator<SeedEvent[]> {
  const rand = rng(42);
  const now = Date.now();
  const yearMs = 365 * 24 * 3600 * 1000;
  let batch: SeedEvent[] = [];
  const push = (...e: SeedEvent[]) => {
    batch.push(...e);
  };
  const flush = function* () {
    if (batch.length >= batchSize) {
      yield batch;
      batch = [];
    }
  };

  // The catalogue first: services, then permissions over them (a year ago, before the users).
  const catalogueAt = new Date(now - yearMs - 3600_000).toISOString();
  ids.serviceIds.forEach((serviceId, s) => {
    const name = `Bench Service ${String(s + 1).padStart(2, '0')}`;
    push(
      ev<ClaimEvent, 'ValueClaimed'>(
        claimStream('serviceName', normaliseCatalogueName(name)),
        0,
        'ValueClaimed',
        { kind: 'serviceName', userId: serviceId, at: catalogueAt },
        meta(ids.adminId),
        catalogueAt,
      ),
      ev<ServiceEvent, 'ServiceCreated'>(
        serviceStream(serviceId),
        0,
        'ServiceCreated',
        { serviceId: serviceId as never, name, description: `Seeded service ${s + 1}` },
        meta(ids.adminId),
        catalogueAt,
      ),
    );
  });
  ids.permissionIds.forEach((permissionId, p) => {
    const service = ids.serviceIds[p % ids.serviceIds.length];
    const name = `svc${(p % ids.serviceIds.length) + 1}.perm${p + 1}:${['read', 'write', 'admin'][p % 3]}`;
    const serviceIds = [service];
    if (p % 4 === 0) serviceIds.push(ids.serviceIds[(p + 7) % ids.serviceIds.length]);
    push(
      ev<ClaimEvent, 'ValueClaimed'>(
        claimStream('permissionName', normaliseCatalogueName(name)),
        0,
        'ValueClaimed',
        { kind: 'permissionName', userId: permissionId, at: catalogueAt },
        meta(ids.adminId),
        catalogueAt,
      ),
      ev<PermissionEvent, 'PermissionCreated'>(
        permissionStream(permissionId),
        0,
        'PermissionCreated',
        { permissionId: permissionId as never, name, serviceIds: serviceIds as never[] },
        meta(ids.adminId),
        catalogueAt,
      ),
    );
  });
  yield* flush();

  const register = (
    userId: string,
    email: string,
    username: string | null,
    first: string | null,
    last: string | null,
    role: Role,
    atMs: number,
    profile: Record<string, unknown> | null,
  ) => {
    const at = new Date(atMs).toISOString();
    const m = meta(userId);
    push(
      ev<ClaimEvent, 'ValueClaimed'>(claimStream('email', normaliseEmail(email)), 0, 'ValueClaimed', { kind: 'email', userId, at }, m, at),
    );
    if (username)
      push(
        ev<ClaimEvent, 'ValueClaimed'>(
          claimStream('username', normaliseUsername(username)),
          0,
          'ValueClaimed',
          { kind: 'username', userId, at },
          m,
          at,
        ),
      );
    push(
      ev<UserEvent, 'UserRegistered'>(
        userStream(userId),
        0,
        'UserRegistered',
        {
          userId: userId as never,
          email: normaliseEmail(email),
          username,
          firstName: first,
          lastName: last,
          name: null,
          profile,
          role,
          passwordHash: ids.passwordHash,
          emailVerified: true,
          registeredAt: at,
        },
        m,
        at,
      ),
    );
  };

  register(ids.adminId, ADMIN_EMAIL, 'benchadmin', 'Bench', 'Admin', 'admin', now - yearMs - 1800_000, null);
  for (let i = 0; i < plan.users; i++) {
    const r = rand();
    const role: Role = i < 10 ? 'viewer' : r < 0.01 ? 'admin' : r < 0.06 ? 'editor' : 'viewer';
    const first = FIRST[i % FIRST.length];
    const last = LAST[Math.floor(i / FIRST.length) % LAST.length];
    const username = i % 2 === 0 ? `${first.toLowerCase()}_${i}` : null;
    const profile = seededProfile(i);
    register(ids.userIds[i], seedEmail(i), username, first, last, role, ids.registeredAt(i), profile);
    if (rand() < plan.grantShare) {
      const n = 1 + Math.floor(rand() * 5);
      const granted = new Set<string>();
      while (granted.size < n) granted.add(ids.permissionIds[Math.floor(rand() * ids.permissionIds.length)]);
      const at = new Date(ids.registeredAt(i) + 60_000).toISOString();
      push(
        ev<UserGrantsEvent, 'UserPermissionsSet'>(
          userGrantsStream(ids.userIds[i]),
          0,
          'UserPermissionsSet',
          { permissionIds: [...granted] as never[] },
          meta(ids.adminId),
          at,
        ),
      );
    }
    yield* flush();
  }
  if (batch.length) yield batch;
}

/** Hashes the shared password exactly as PasswordHasher.hash does (bcrypt of the SHA-256 pre-hash). */
export const hashPassword = (password: string, cost: number): string => bcrypt.hashSync(prehash(password), cost);

export function planIds(plan: SeedPlan): SeededIds {
  const now = Date.now();
  const yearMs = 365 * 24 * 3600 * 1000;
  const spacing = yearMs / Math.max(plan.users, 1);
  return {
    userIds: Array.from({ length: plan.users }, () => randomUUID()),
    adminId: randomUUID(),
    serviceIds: Array.from({ length: plan.services }, () => randomUUID()),
    permissionIds: Array.from({ length: plan.permissions }, () => randomUUID()),
    passwordHash: hashPassword(plan.password, plan.bcryptCost),
    registeredAt: (i) => Math.floor(now - yearMs + i * spacing),
  };
}

/** Number of events seedEvents yields for a plan (for progress bars), computed the same way. */
export function countSeedEvents(plan: SeedPlan): number {
  const rand = rng(42);
  let n = plan.services * 2 + plan.permissions * 2 + 2 /* admin: claim + username claim */ + 1;
  for (let i = 0; i < plan.users; i++) {
    rand(); // role
    n += 2 + (i % 2 === 0 ? 1 : 0);
    if (rand() < plan.grantShare) {
      n += 1;
      const k = 1 + Math.floor(rand() * 5);
      const granted = new Set<number>();
      while (granted.size < k) granted.add(Math.floor(rand() * plan.permissions));
    }
  }
  return n;
}

/**
 * Profile edits on the seeded users, up to `count` events: each user's edits are consecutive
 * revisions of its stream (after the registration at revision 0) and stay in one batch.
 * `oldValue` is always the value before, as the decider would have recorded it.
 */
export function* profileUpdateEvents(
  ids: SeededIds,
  count: number,
  batchSize: number,
  lastRevision: (userId: string) => number = () => 0,
): Generator<SeedEvent[]> {
  const users = ids.userIds.length;
  const perUser = Math.ceil(count / users);
  let left = count;
  let batch: SeedEvent[] = [];
  const now = Date.now();
  for (let i = 0; i < users && left > 0; i++) {
    const userId = ids.userIds[i];
    let first: string | null = FIRST[i % FIRST.length];
    let last: string | null = LAST[Math.floor(i / FIRST.length) % LAST.length];
    let profile: Record<string, unknown> | null = seededProfile(i);
    const base = ids.registeredAt(i);
    const span = Math.max(now - base - 120_000, perUser * 1000);
    const n = Math.min(perUser, left);
    const after = lastRevision(userId);
    for (let k = 1; k <= n; k++) {
      const at = new Date(base + 120_000 + Math.floor((span * k) / (n + 1))).toISOString();
      let data: Typed<UserEvent>['ProfileUpdated'];
      if (k % 3 === 1) {
        const next = differentFrom(FIRST, i + k, first);
        data = { changes: [{ field: 'firstName', oldValue: first, newValue: next }] };
        first = next;
      } else if (k % 3 === 2) {
        const next = differentFrom(LAST, i + 3 * k, last);
        data = { changes: [{ field: 'lastName', oldValue: last, newValue: next }] };
        last = next;
      } else {
        const next = { ...(profile ?? {}), bio: `edit ${k} of user ${i}`, theme: k % 2 ? 'dark' : 'light' };
        data = { changes: [{ field: 'profile', oldValue: profile, newValue: next }] };
        profile = next;
      }
      batch.push(ev<UserEvent, 'ProfileUpdated'>(userStream(userId), after + k, 'ProfileUpdated', data, meta(userId), at));
      left--;
    }
    if (batch.length >= batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}
