import { Knex } from 'knex';
import { apiKeyIdOf, ApiKeyScope } from '../events/api-key';
import { unhandled } from '../events/registry';
import { projection } from './projection';

/**
 * API keys for listing. No hash here: authentication reads the key's own stream, never this table.
 */
export interface ApiKeyRow {
  id: string;
  owner_id: string;
  name: string;
  prefix: string;
  permission_ids: string[];
  scopes: ApiKeyScope[];
  expires_at: Date | null;
  revoked_at: Date | null;
  created_at: Date;
}

export const apiKeysProjection = projection({
  name: 'api_keys',
  version: 2,
  tables: ['api_keys'],
  async setup(db) {
    await db.raw(`
      CREATE TABLE IF NOT EXISTS api_keys (
        id uuid PRIMARY KEY,
        owner_id uuid NOT NULL,
        name text NOT NULL,
        prefix text NOT NULL,
        permission_ids uuid[] NOT NULL DEFAULT '{}',
        scopes text[] NOT NULL,
        expires_at timestamptz,
        revoked_at timestamptz,
        created_at timestamptz NOT NULL
      );
      CREATE INDEX IF NOT EXISTS api_keys_owner_idx ON api_keys (owner_id, created_at, id) WHERE revoked_at IS NULL;
    `);
  },
  handles: ['ApiKeyCreated', 'ApiKeyRevoked'],
  async apply(e, trx) {
    const id = apiKeyIdOf(e.streamId);
    switch (e.type) {
      case 'ApiKeyCreated':
        await trx('api_keys')
          .insert({
            id,
            owner_id: e.data.ownerId,
            name: e.data.name,
            prefix: e.data.prefix,
            permission_ids: e.data.permissionIds,
            // Keys made before scopes existed read only (as their stream's decider has it).
            scopes: e.data.scopes ?? ['read'],
            expires_at: e.data.expiresAt,
            created_at: e.data.createdAt,
          })
          .onConflict('id')
          .ignore();
        return;
      case 'ApiKeyRevoked':
        await trx('api_keys').where({ id }).whereNull('revoked_at').update({ revoked_at: e.data.at });
        return;
      default:
        return unhandled(e);
    }
  },
});

/** A key as its owner sees it: never the key, never its hash. */
export const presentApiKey = (k: ApiKeyRow) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  permissionIds: k.permission_ids,
  scopes: k.scopes,
  expiresAt: k.expires_at,
  expired: k.expires_at !== null && k.expires_at.getTime() <= Date.now(),
  createdAt: k.created_at,
});

/** The owner's keys that were not revoked (expired ones stay listed, marked, until revoked). */
export const liveApiKeysOf = (db: Knex, ownerId: string): Knex.QueryBuilder =>
  db('api_keys').where({ owner_id: ownerId }).whereNull('revoked_at');
