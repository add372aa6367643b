import { Knex } from 'knex';
import { unhandled } from '../events/registry';
import { serviceIdOf } from '../events/service';
import { projection } from './projection';

/**
 * The `services` read table: the seed's columns. A deleted service's row is removed (hard
 * delete in the read model; its stream keeps the whole history for the audit trail).
 */
export interface ServiceRow {
  id: string;
  name: string;
  description: string | null;
  created_by: string | null;
  updated_by: string | null;
  created_at: Date;
  updated_at: Date;
}

/**
 * Makes sure pg_trgm is installed and returns its operator class, qualified with the schema it
 * lives in (replays build tables with search_path set to a scratch schema only). Null when the
 * server does not ship it or this role may not install it: `q` still works, by a scan.
 */
export async function trigramOps(db: Knex | Knex.Transaction): Promise<string | null> {
  const installed = async (): Promise<string | null> => {
    const { rows } = await db.raw(
      `SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'`,
    );
    return rows.length ? `"${String(rows[0].schema).replace(/"/g, '""')}".gin_trgm_ops` : null;
  };
  const existing = await installed();
  if (existing) return existing;
  // pg_trgm is a trusted extension: a role that may create in the database may install it.
  const { rows } = await db.raw(`
    SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm')
       AND (has_database_privilege(current_database(), 'CREATE') OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)) AS ok`);
  if (!rows[0].ok) return null;
  await db.raw('CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public');
  return installed();
}

export const servicesProjection = projection({
  name: 'services',
  version: 1,
  tables: ['services'],
  async setup(db) {
    await db.raw(`
      CREATE TABLE IF NOT EXISTS services (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        description text,
        created_by uuid,
        updated_by uuid,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      );
      CREATE INDEX IF NOT EXISTS services_name_idx ON services (name, id);
      CREATE INDEX IF NOT EXISTS services_created_at_idx ON services (created_at, id);
    `);
    const ops = await trigramOps(db);
    if (ops) {
      // Serve `q` (ILIKE '%…%' over name and description) without a scan.
      await db.raw(`
        CREATE INDEX IF NOT EXISTS services_name_trgm_idx ON services USING gin (name ${ops});
        CREATE INDEX IF NOT EXISTS services_description_trgm_idx ON services USING gin (description ${ops});
      `);
    }
  },
  handles: ['ServiceCreated', 'ServiceUpdated', 'ServiceDeleted'],
  async apply(e, trx) {
    const id = serviceIdOf(e.streamId);
    const actor = e.metadata.actorId ?? null;
    switch (e.type) {
      case 'ServiceCreated':
        await trx('services')
          .insert({
            id,
            name: e.data.name,
            description: e.data.description,
            created_by: actor,
            updated_by: actor,
            created_at: e.createdAt,
            updated_at: e.createdAt,
          })
          .onConflict('id')
          .ignore();
        return;
      case 'ServiceUpdated': {
        const patch: Partial<ServiceRow> = { updated_by: actor, updated_at: e.createdAt };
        for (const c of e.data.changes) {
          if (c.field === 'name') patch.name = c.newValue;
          else patch.description = c.newValue;
        }
        await trx('services').where({ id }).update(patch);
        return;
      }
      case 'ServiceDeleted':
        await trx('services').where({ id }).delete();
        return;
      default:
        return unhandled(e);
    }
  },
});

/** The service as API.md returns it. */
export const presentService = (s: ServiceRow) => ({
  id: s.id,
  name: s.name,
  description: s.description,
  createdBy: s.created_by,
  updatedBy: s.updated_by,
  createdAt: s.created_at,
  updatedAt: s.updated_at,
});

export type PresentedService = ReturnType<typeof presentService>;

export const findServiceById = async (db: Knex, id: string): Promise<ServiceRow | undefined> =>
  db<ServiceRow>('services').where({ id }).first();
