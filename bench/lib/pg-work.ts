/**
 * What PostgreSQL did for a scenario, from the bench database's statistics: commits and rows
 * (`pg_stat_database`, always there), top-level statements (`pg_stat_statements`, only when the
 * server loads it: that takes `shared_preload_libraries` and a restart, which the bench never
 * does), and how much the scenario made the database grow (the event log, the read models).
 */
import { Pool } from 'pg';
import { growthPerRequest, LogGrowth, PostgresPerRequest } from './results';

export interface PgCounters {
  commits: number;
  fetched: number;
  inserted: number;
  updated: number;
  /** Top-level statements run in the bench database; null without pg_stat_statements. */
  statements: number | null;
}

/**
 * Whether statements can be counted: the server has pg_stat_statements loaded, and the
 * extension's view is then created in the bench database (its own, dropped with it).
 * The reason when not, for the results.
 */
export async function statementCounting(pool: Pool): Promise<{ available: true } | { available: false; reason: string }> {
  const { rows } = await pool.query<{ libs: string }>("SELECT current_setting('shared_preload_libraries') AS libs");
  if (
    !rows[0].libs
      .split(',')
      .map((x) => x.trim().replace(/^"|"$/g, ''))
      .includes('pg_stat_statements')
  ) {
    return { available: false, reason: 'pg_stat_statements is not in the server’s shared_preload_libraries' };
  }
  try {
    await pool.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await pool.query('SELECT 1 FROM pg_stat_statements LIMIT 1');
    return { available: true };
  } catch (err) {
    return { available: false, reason: `pg_stat_statements is loaded but not usable here: ${(err as Error).message}` };
  }
}

export async function pgCounters(pool: Pool, statements: boolean): Promise<PgCounters> {
  const { rows } = await pool.query<{ x: string; f: string; i: string; u: string }>(
    'SELECT xact_commit::text AS x, tup_fetched::text AS f, tup_inserted::text AS i, tup_updated::text AS u FROM pg_stat_database WHERE datname = current_database()',
  );
  let calls: number | null = null;
  if (statements) {
    // Default pg_stat_statements.track = top: statements run inside functions are not counted again.
    const { rows: s } = await pool.query<{ n: string }>(
      'SELECT coalesce(sum(calls), 0)::text AS n FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())',
    );
    calls = Number(s[0].n);
  }
  return {
    commits: Number(rows[0].x),
    fetched: Number(rows[0].f),
    inserted: Number(rows[0].i),
    updated: Number(rows[0].u),
    statements: calls,
  };
}

/** Counter deltas per request, to one decimal. */
export function perRequest(before: PgCounters, after: PgCounters, requests: number): PostgresPerRequest {
  const per = (a: number, b: number) => Math.round(((b - a) / Math.max(requests, 1)) * 10) / 10;
  const out: PostgresPerRequest = {
    transactions: per(before.commits, after.commits),
    rowsFetched: per(before.fetched, after.fetched),
    rowsInserted: per(before.inserted, after.inserted),
    rowsUpdated: per(before.updated, after.updated),
  };
  if (before.statements !== null && after.statements !== null) out.statements = per(before.statements, after.statements);
  return out;
}

/** The log's head and every table's size at one moment. */
export interface LogSnapshot {
  /** Highest es_events.global_position (events after it were appended later). */
  position: string;
  /** pg_total_relation_size of every table of the app (heap, indexes, TOAST), by name. */
  tables: Record<string, number>;
}

/** The event store's tables; everything else of the app is a read model. The bench's own (bench_*) count as neither. */
const isEventStore = (table: string) => table.startsWith('es_');
const isBench = (table: string) => table.startsWith('bench_');

export async function logSnapshot(pool: Pool): Promise<LogSnapshot> {
  const { rows: head } = await pool.query<{ p: string }>('SELECT coalesce(max(global_position), 0)::text AS p FROM es_events');
  const { rows } = await pool.query<{ name: string; bytes: string }>(
    "SELECT c.relname AS name, pg_total_relation_size(c.oid)::text AS bytes FROM pg_class c WHERE c.relkind IN ('r', 'p') AND c.relnamespace = 'public'::regnamespace",
  );
  return { position: head[0].p, tables: Object.fromEntries(rows.map((r) => [r.name, Number(r.bytes)])) };
}

/** Growth between two snapshots, and the row data of the events appended in between. */
export async function logGrowth(pool: Pool, before: LogSnapshot, after: LogSnapshot, requests: number): Promise<LogGrowth> {
  const { rows } = await pool.query<{ n: string; bytes: string }>(
    'SELECT count(*)::text AS n, coalesce(sum(pg_column_size(e.*)), 0)::text AS bytes FROM es_events e WHERE global_position > $1::bigint AND global_position <= $2::bigint',
    [before.position, after.position],
  );
  let eventLogBytes = 0;
  let readModelBytes = 0;
  for (const [name, bytes] of Object.entries(after.tables)) {
    if (isBench(name)) continue;
    const d = bytes - (before.tables[name] ?? 0);
    if (isEventStore(name)) eventLogBytes += d;
    else readModelBytes += d;
  }
  return growthPerRequest({ requests, events: Number(rows[0].n), eventRowBytes: Number(rows[0].bytes), eventLogBytes, readModelBytes });
}
