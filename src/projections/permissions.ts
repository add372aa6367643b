import { Knex } from 'knex';
import { permissionIdOf, userIdOfGrants } from '../events/permission';
import { RecordedOf, unhandled } from '../events/registry';
import { serviceIdOf } from '../events/service';
import { RecordedEvent } from '../eventstore/types';
import { insertJsonRows } from './bulk';
import { isRunOf, projection, runsOf } from './projection';
import { trigramOps } from './services';

/**
 * Permissions and their services (the seed's `permissions` and `permission_services`), and
 * the grants of permissions to users (`user_permissions`). A deleted permission's rows go,
 * with its links and grants; a deleted service's links go, so no permission lists it any more.
 * Service names are not copied here: reads join `services`.
 */
export interface PermissionRow {
  id: string;
  name: string;
  created_by: string | null;
  updated_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface ServiceRef {
  id: string;
  name: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const HANDLES = ['PermissionCreated', 'PermissionUpdated', 'PermissionDeleted', 'ServiceDeleted', 'UserPermissionsSet'] as const;
type PermissionsEvent = RecordedOf<(typeof HANDLES)[number]>;

async function linkServices(
  trx: Knex.Transaction,
  permissionId: string,
  serviceIds: readonly string[],
  r: Pick<RecordedEvent, 'metadata' | 'createdAt'>,
): Promise<void> {
  if (serviceIds.length === 0) return;
  const actor = r.metadata.actorId ?? null;
  await trx('permission_services')
    .insert(
      serviceIds.map((serviceId) => ({
        permission_id: permissionId,
        service_id: serviceId,
        created_by: actor,
        updated_by: actor,
        created_at: r.createdAt,
        updated_at: r.createdAt,
      })),
    )
    .onConflict(['permission_id', 'service_id'])
    .ignore();
}

export const permissionsProjection = projection({
  name: 'permissions',
  version: 1,
  tables: ['permissions', 'permission_services', 'user_permissions'],
  async setup(db) {
    await db.raw(`
      CREATE TABLE IF NOT EXISTS permissions (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        created_by uuid,
        updated_by uuid,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      );
      CREATE INDEX IF NOT EXISTS permissions_name_idx ON permissions (name, id);
      CREATE INDEX IF NOT EXISTS permissions_lower_name_idx ON permissions (lower(name));
      CREATE INDEX IF NOT EXISTS permissions_created_at_idx ON permissions (created_at, id);
      CREATE INDEX IF NOT EXISTS permissions_updated_at_idx ON permissions (updated_at, id);

      CREATE TABLE IF NOT EXISTS permission_services (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        permission_id uuid NOT NULL,
        service_id uuid NOT NULL,
        created_by uuid,
        updated_by uuid,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        UNIQUE (permission_id, service_id)
      );
      CREATE INDEX IF NOT EXISTS permission_services_service_idx ON permission_services (service_id, permission_id);

      CREATE TABLE IF NOT EXISTS user_permissions (
        user_id uuid NOT NULL,
        permission_id uuid NOT NULL,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (user_id, permission_id)
      );
      CREATE INDEX IF NOT EXISTS user_permissions_permission_idx ON user_permissions (permission_id);
    `);
    const ops = await trigramOps(db);
    if (ops) await db.raw(`CREATE INDEX IF NOT EXISTS permissions_name_trgm_idx ON permissions USING gin (name ${ops})`);
  },
  handles: HANDLES,
  /**
   * A batch in log order: runs of new permissions and runs of grant changes (the bulk of a
   * replay) take two statements each, whatever their length; the rest goes event by event.
   * The rows come out as applying each event in turn would leave them.
   */
  async applyBatch(events, trx) {
    for (const run of runsOf(events)) {
      if (isRunOf(run, 'UserPermissionsSet')) await setGrants(run, trx);
      else if (isRunOf(run, 'PermissionCreated')) await createPermissions(run, trx);
      else for (const e of run) await applyOne(e, trx);
    }
  },
  apply: (e, trx) => applyOne(e, trx),
});

async function applyOne(e: PermissionsEvent, trx: Knex.Transaction): Promise<void> {
  const actor = e.metadata.actorId ?? null;
  switch (e.type) {
    case 'ServiceDeleted':
      await trx('permission_services')
        .where({ service_id: serviceIdOf(e.streamId) })
        .delete();
      return;
    case 'UserPermissionsSet': {
      const userId = userIdOfGrants(e.streamId);
      const ids = e.data.permissionIds;
      await trx('user_permissions').where({ user_id: userId }).whereNotIn('permission_id', ids).delete();
      if (ids.length) {
        await trx('user_permissions')
          .insert(ids.map((permission_id) => ({ user_id: userId, permission_id, created_at: e.createdAt })))
          .onConflict(['user_id', 'permission_id'])
          .ignore();
      }
      return;
    }
    case 'PermissionCreated': {
      const id = permissionIdOf(e.streamId);
      await trx('permissions')
        .insert({ id, name: e.data.name, created_by: actor, updated_by: actor, created_at: e.createdAt, updated_at: e.createdAt })
        .onConflict('id')
        .ignore();
      await linkServices(trx, id, e.data.serviceIds, e);
      return;
    }
    case 'PermissionUpdated': {
      const id = permissionIdOf(e.streamId);
      const patch: Partial<PermissionRow> = { updated_by: actor, updated_at: e.createdAt };
      if (e.data.name !== undefined) patch.name = e.data.name;
      await trx('permissions').where({ id }).update(patch);
      const serviceIds = e.data.serviceIds;
      if (serviceIds !== undefined) {
        await trx('permission_services').where({ permission_id: id }).whereNotIn('service_id', serviceIds).delete();
        await linkServices(trx, id, serviceIds, e);
      }
      return;
    }
    case 'PermissionDeleted': {
      const id = permissionIdOf(e.streamId);
      await trx('permission_services').where({ permission_id: id }).delete();
      await trx('user_permissions').where({ permission_id: id }).delete();
      await trx('permissions').where({ id }).delete();
      return;
    }
    default:
      return unhandled(e);
  }
}

async function createPermissions(run: RecordedOf<'PermissionCreated'>[], trx: Knex.Transaction): Promise<void> {
  const permissions: object[] = [];
  const links: object[] = [];
  for (const e of run) {
    const id = permissionIdOf(e.streamId);
    const actor = e.metadata.actorId ?? null;
    permissions.push({ id, name: e.data.name, created_by: actor, updated_by: actor, created_at: e.createdAt, updated_at: e.createdAt });
    for (const serviceId of e.data.serviceIds) {
      links.push({
        permission_id: id,
        service_id: serviceId,
        created_by: actor,
        updated_by: actor,
        created_at: e.createdAt,
        updated_at: e.createdAt,
      });
    }
  }
  await insertJsonRows(trx, 'permissions', ['id', 'name', 'created_by', 'updated_by', 'created_at', 'updated_at'], permissions, 'id');
  await insertJsonRows(
    trx,
    'permission_services',
    ['permission_id', 'service_id', 'created_by', 'updated_by', 'created_at', 'updated_at'],
    links,
    'permission_id, service_id',
  );
}

/**
 * Grant sets, folded per user. Event by event, a set deletes the user's other grants and adds
 * its own, keeping the time of those already there. So a permission in the final set keeps its
 * row if it was in every set of the run (or gets the first set's time when new), and gets the
 * time of the set that last brought it back otherwise.
 */
async function setGrants(run: RecordedOf<'UserPermissionsSet'>[], trx: Knex.Transaction): Promise<void> {
  const users = new Map<string, Map<string, { since: Date; fromFirst: boolean }>>();
  for (const e of run) {
    const userId = userIdOfGrants(e.streamId);
    const before = users.get(userId);
    const now = new Map<string, { since: Date; fromFirst: boolean }>();
    for (const id of e.data.permissionIds) {
      now.set(id, before ? (before.get(id) ?? { since: e.createdAt, fromFirst: false }) : { since: e.createdAt, fromFirst: true });
    }
    users.set(userId, now);
  }
  const keep: { user_id: string; keep: string[] }[] = [];
  const rows: { user_id: string; permission_id: string; created_at: Date }[] = [];
  for (const [userId, grants] of users) {
    keep.push({ user_id: userId, keep: [...grants].filter(([, g]) => g.fromFirst).map(([id]) => id) });
    for (const [id, g] of grants) rows.push({ user_id: userId, permission_id: id, created_at: g.since });
  }
  await trx.raw(
    `DELETE FROM user_permissions u USING json_to_recordset(?::json) AS d(user_id uuid, keep uuid[])
      WHERE u.user_id = d.user_id AND NOT (u.permission_id = ANY (d.keep))`,
    [JSON.stringify(keep)],
  );
  await insertJsonRows(trx, 'user_permissions', ['user_id', 'permission_id', 'created_at'], rows, 'user_id, permission_id');
}

/** The services of each permission, by permission id, sorted by name (deleted ones are gone). */
export async function servicesOf(db: Knex, permissionIds: readonly string[]): Promise<Map<string, ServiceRef[]>> {
  const byPermission = new Map<string, ServiceRef[]>(permissionIds.map((id) => [id, []]));
  if (permissionIds.length === 0) return byPermission;
  const rows: { permission_id: string; id: string; name: string }[] = await db('permission_services as ps')
    .join('services as s', 's.id', 'ps.service_id')
    .whereIn('ps.permission_id', permissionIds)
    .select('ps.permission_id', 's.id', 's.name')
    .orderBy([{ column: 's.name' }, { column: 's.id' }]);
  for (const row of rows) byPermission.get(row.permission_id)?.push({ id: row.id, name: row.name });
  return byPermission;
}

/** The permission as API.md returns it. */
export const presentPermission = (p: PermissionRow, services: ServiceRef[]) => ({
  id: p.id,
  name: p.name,
  services,
  createdBy: p.created_by,
  updatedBy: p.updated_by,
  createdAt: p.created_at,
  updatedAt: p.updated_at,
});

export type PresentedPermission = ReturnType<typeof presentPermission>;

/** Presents rows with their services, in one query for all of them. */
export async function presentPermissions(db: Knex, rows: readonly PermissionRow[]): Promise<PresentedPermission[]> {
  const services = await servicesOf(
    db,
    rows.map((p) => p.id),
  );
  return rows.map((p) => presentPermission(p, services.get(p.id) ?? []));
}

export async function findPermissionById(db: Knex, id: string): Promise<PresentedPermission | undefined> {
  const row = await db<PermissionRow>('permissions').where({ id }).first();
  return row ? (await presentPermissions(db, [row]))[0] : undefined;
}

/** The permissions granted to a user, each with its services: `{ id, name, services }`, by name. */
export async function permissionsOfUser(db: Knex, userId: string): Promise<{ id: string; name: string; services: ServiceRef[] }[]> {
  if (!UUID.test(userId)) return [];
  const rows: { id: string; name: string }[] = await db('user_permissions as up')
    .join('permissions as p', 'p.id', 'up.permission_id')
    .where('up.user_id', userId)
    .select('p.id', 'p.name')
    .orderBy([{ column: 'p.name' }, { column: 'p.id' }]);
  const services = await servicesOf(
    db,
    rows.map((p) => p.id),
  );
  return rows.map((p) => ({ id: p.id, name: p.name, services: services.get(p.id) ?? [] }));
}
