import { Knex } from 'knex';
import { Position } from '../eventstore/types';
import { CHECKPOINTS } from './checkpoints';

/** Where projection groups announce checkpoints that moved (read-your-writes waits listen there). */
export const CHECKPOINT_CHANNEL = 'projection_checkpoint';

/** The NOTIFY payload: every checkpoint that moved and where to, so listeners need no query. */
export const announcementOf = (moved: readonly (readonly [string, Position])[]): string =>
  JSON.stringify({ p: moved.map(([name, to]) => [name, to.commit.toString(), to.prepare.toString()]) });

/** The checkpoints an announcement names, or null for any other payload (a replay's, say). */
export function parseAnnouncement(payload: string): [string, Position][] | null {
  try {
    const moved = (JSON.parse(payload) as { p?: unknown }).p;
    if (!Array.isArray(moved)) return null;
    return (moved as [string, string, string][]).map(([name, commit, prepare]) => [
      name,
      { commit: BigInt(commit), prepare: BigInt(prepare) },
    ]);
  } catch {
    return null;
  }
}

/** A checkpoint row to move: from the position this process last wrote to it (`was`), to `to`. */
export interface CheckpointMove {
  name: string;
  was: Position | null;
  to: Position | null;
}

/**
 * Moves checkpoint rows that still hold the expected position (`e…`) to the new one (`t…`),
 * returns the names written, and sends the announcement (delivered only if the transaction
 * commits). One round trip where a SELECT … FOR UPDATE, an UPDATE per position and a NOTIFY
 * took three or more.
 */
const WRITE_CHECKPOINTS = `
  WITH w AS (SELECT * FROM json_to_recordset(?::json) AS w(name text, ec bigint, ep bigint, tc bigint, tp bigint)),
  u AS (
    UPDATE ${CHECKPOINTS} c SET commit_pos = w.tc, prepare_pos = w.tp, updated_at = now()
    FROM w
    WHERE c.name = w.name AND c.commit_pos IS NOT DISTINCT FROM w.ec AND c.prepare_pos IS NOT DISTINCT FROM w.ep
    RETURNING c.name
  )
  SELECT (SELECT array_agg(name) FROM u) AS written, CASE WHEN ?::text IS NULL THEN NULL ELSE pg_notify(?::text, ?::text) END AS announced`;

const pair = (prefix: 'e' | 't', p: Position | null): Record<string, string | null> => ({
  [`${prefix}c`]: p ? p.commit.toString() : null,
  [`${prefix}p`]: p ? p.prepare.toString() : null,
});

/**
 * Writes the moves (a row someone else moved meanwhile is left alone) and, when given, the
 * announcement, in the batch's transaction. Returns the names of the rows written.
 */
export async function writeCheckpoints(
  trx: Knex.Transaction,
  moves: readonly CheckpointMove[],
  announcement: string | null,
): Promise<Set<string>> {
  const { rows } = await trx.raw<{ rows: { written: string[] | null }[] }>(WRITE_CHECKPOINTS, [
    JSON.stringify(moves.map((m) => ({ name: m.name, ...pair('e', m.was), ...pair('t', m.to) }))),
    announcement === null ? null : CHECKPOINT_CHANNEL,
    announcement === null ? null : CHECKPOINT_CHANNEL,
    announcement,
  ]);
  return new Set(rows[0].written ?? []);
}
