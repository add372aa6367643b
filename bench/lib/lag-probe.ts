/**
 * Projection lag of CreatePermission, measured on every command: a deferred constraint trigger
 * on the bench database's `permissions` read table stamps `clock_timestamp()` when the
 * projection's transaction commits the row; lag = that − `created_at` of the `PermissionCreated`
 * event (stamped by the append). Same clock, no sampling, no polling.
 */
import { Pool } from 'pg';
import { percentile } from './results';

export interface Lag {
  samples: number;
  notVisible: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Installs the trigger (again: every statement is idempotent). */
export async function installLagProbe(pool: Pool): Promise<void> {
  await pool.query(`
    CREATE TABLE IF NOT EXISTS bench_visible (permission_id uuid PRIMARY KEY, visible_at timestamptz NOT NULL);
    CREATE OR REPLACE FUNCTION bench_visible_fn() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO bench_visible VALUES (NEW.id, clock_timestamp()) ON CONFLICT DO NOTHING;
      RETURN NULL;
    END $$;
    DROP TRIGGER IF EXISTS bench_visible_trg ON permissions;
    CREATE CONSTRAINT TRIGGER bench_visible_trg AFTER INSERT ON permissions DEFERRABLE INITIALLY DEFERRED
      FOR EACH ROW EXECUTE FUNCTION bench_visible_fn();`);
}

/** Lag of the permissions created between two instants. */
export async function lagBetween(pool: Pool, from: Date, to: Date): Promise<Lag> {
  const { rows } = await pool.query<{ ms: number }>(
    `SELECT extract(epoch FROM (v.visible_at - e.created_at)) * 1000 AS ms
     FROM es_events e JOIN bench_visible v ON e.stream_id = 'permission-' || v.permission_id::text
     WHERE e.event_type = 'PermissionCreated' AND e.created_at >= $1 AND e.created_at <= $2`,
    [from, to],
  );
  const sorted = rows.map((r) => Number(r.ms)).sort((a, b) => a - b);
  const { rows: missing } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM es_events e WHERE e.event_type = 'PermissionCreated' AND e.created_at >= $1 AND e.created_at <= $2
     AND NOT EXISTS (SELECT 1 FROM bench_visible v WHERE e.stream_id = 'permission-' || v.permission_id::text)`,
    [from, to],
  );
  return {
    samples: sorted.length,
    notVisible: missing[0].n,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
  };
}
