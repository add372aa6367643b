import { Knex } from 'knex';
import { Position } from '../eventstore/types';
import type { ProjectionLag } from '../infra/metrics';

export const CHECKPOINTS = 'projection_checkpoints';

export interface CheckpointRow {
  name: string;
  version: number;
  commit_pos: string | null;
  prepare_pos: string | null;
  updated_at: Date;
}

export const positionOf = (row: Pick<CheckpointRow, 'commit_pos' | 'prepare_pos'> | undefined): Position | null =>
  row && row.commit_pos !== null && row.prepare_pos !== null ? { commit: BigInt(row.commit_pos), prepare: BigInt(row.prepare_pos) } : null;

export const samePosition = (a: Position | null, b: Position | null): boolean =>
  a === b || (a !== null && b !== null && a.commit === b.commit && a.prepare === b.prepare);

export async function ensureCheckpointTable(db: Knex): Promise<void> {
  await db.raw(`
    CREATE TABLE IF NOT EXISTS public.${CHECKPOINTS} (
      name text PRIMARY KEY,
      version integer NOT NULL DEFAULT 1,
      commit_pos bigint,
      prepare_pos bigint,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
}

export async function readCheckpoints(db: Knex): Promise<CheckpointRow[]> {
  return db(CHECKPOINTS).select('*');
}

export const positionColumns = (p: Position | null): { commit_pos: string | null; prepare_pos: string | null } => ({
  commit_pos: p ? p.commit.toString() : null,
  prepare_pos: p ? p.prepare.toString() : null,
});

/** How far the log runs past a checkpoint (PostgreSQL store): events not processed, age of the oldest. */
export async function lagAfter(db: Knex, p: Position | null): Promise<{ events: number; seconds: number }> {
  const r = await db.raw(
    `SELECT count(*)::bigint AS n, min(created_at) AS oldest FROM es_events WHERE (transaction_id, global_position) > (?::text::xid8, ?::bigint)`,
    [(p?.commit ?? 0n).toString(), (p?.prepare ?? 0n).toString()],
  );
  const oldest = r.rows[0].oldest as Date | null;
  return { events: Number(r.rows[0].n), seconds: oldest ? Math.max(0, (Date.now() - new Date(oldest).getTime()) / 1000) : 0 };
}

/** The lag of every projection and reactor (not their `#` lock rows), for the metrics. */
export async function projectionLags(db: Knex): Promise<ProjectionLag[]> {
  const rows = (await readCheckpoints(db)).filter((r) => !r.name.includes('#'));
  return Promise.all(rows.map(async (row) => ({ projection: row.name, ...(await lagAfter(db, positionOf(row))) })));
}
