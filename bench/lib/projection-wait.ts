/** Waiting for the app's projections to reach the head of the log (the projection of the seed). */
import { Pool } from 'pg';
import { PROJECTIONS } from '../../src/projections';
import { bar, fmt } from './progress';
import { sleep } from './stack';

export const PROJECTION_NAMES = PROJECTIONS.map((p) => p.name);

type Pos = { commit: bigint; prepare: bigint };
const cmpPos = (a: Pos, b: Pos) =>
  a.commit === b.commit ? (a.prepare === b.prepare ? 0 : a.prepare < b.prepare ? -1 : 1) : a.commit < b.commit ? -1 : 1;

async function headPosition(pool: Pool): Promise<Pos | null> {
  const { rows } = await pool.query<{ c: string; p: string }>(
    `SELECT transaction_id::text AS c, global_position::text AS p FROM es_events
     WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
     ORDER BY transaction_id DESC, global_position DESC LIMIT 1`,
  );
  return rows[0] ? { commit: BigInt(rows[0].c), prepare: BigInt(rows[0].p) } : null;
}

async function checkpoints(pool: Pool): Promise<Map<string, Pos | null>> {
  const { rows } = await pool.query<{ name: string; commit_pos: string | null; prepare_pos: string | null }>(
    'SELECT name, commit_pos::text, prepare_pos::text FROM projection_checkpoints WHERE name = ANY($1)',
    [PROJECTION_NAMES],
  );
  const m = new Map<string, Pos | null>(PROJECTION_NAMES.map((n) => [n, null]));
  for (const r of rows)
    m.set(
      r.name,
      r.commit_pos === null || r.prepare_pos === null ? null : { commit: BigInt(r.commit_pos), prepare: BigInt(r.prepare_pos) },
    );
  return m;
}

/** Events after a position (the backlog of a projection at that checkpoint). */
async function eventsAfter(pool: Pool, p: Pos | null): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    'SELECT count(*)::bigint AS n FROM es_events WHERE (transaction_id, global_position) > ($1::text::xid8, $2::bigint)',
    [(p?.commit ?? 0n).toString(), (p?.prepare ?? 0n).toString()],
  );
  return Number(rows[0].n);
}

/** Waits until every projection's checkpoint reached the head of the log; per projection, when. */
export async function waitForProjections(
  pool: Pool,
  total: number,
  timeoutS: number,
  since: number,
): Promise<{ seconds: number; caughtUp: boolean; perProjection: Record<string, number | null> }> {
  const b = bar('projecting the seed', total, 'events');
  const done: Record<string, number | null> = Object.fromEntries(PROJECTION_NAMES.map((n) => [n, null]));
  let lastCount = 0;
  try {
    for (;;) {
      const head = await headPosition(pool);
      const cps = await checkpoints(pool);
      const elapsed = (Date.now() - since) / 1000;
      let slowest: Pos | null | undefined;
      for (const [name, p] of cps) {
        const caught = head === null || (p !== null && cmpPos(p, head) >= 0);
        if (caught && done[name] === null) done[name] = elapsed;
        if (!caught && (slowest === undefined || slowest === null || (p !== null && cmpPos(p, slowest) < 0) || p === null)) slowest = p;
      }
      if (Object.values(done).every((v) => v !== null)) {
        b.update(total, { rate: `${fmt(total / elapsed)} ev/s (slowest projection)` });
        return { seconds: elapsed, caughtUp: true, perProjection: done };
      }
      if (elapsed > timeoutS) return { seconds: elapsed, caughtUp: false, perProjection: done };
      if (Date.now() - lastCount > 2000 && slowest !== undefined) {
        lastCount = Date.now();
        const behind = await eventsAfter(pool, slowest);
        const projected = Math.max(0, total - behind);
        b.update(projected, { rate: `${fmt(projected / Math.max(elapsed, 0.001))} ev/s (slowest projection)` });
      }
      await sleep(500);
    }
  } finally {
    b.stop();
  }
}
