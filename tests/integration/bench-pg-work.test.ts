import { Pool } from 'pg';
import { runCommitLoop, COMMIT_TABLE, commitTableDdl } from '../../bench/lib/commits';
import { logGrowth, logSnapshot, pgCounters, perRequest, statementCounting } from '../../bench/lib/pg-work';
import { PostgresEventStore } from '../../src/eventstore/postgres';
import { createTestDatabase, TestDatabase } from '../helpers/db';

/** The bench's PostgreSQL figures, against a real PostgreSQL: what it reports is what happened. */
describe('bench: PostgreSQL work, log growth and the commit ceiling', () => {
  let db: TestDatabase;
  let pool: Pool;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase('benchpg');
    store = PostgresEventStore.fromConfig({ connectionString: db.url, max: 2 });
    await store.migrate();
    pool = new Pool({ connectionString: db.url, max: 2 });
  });

  afterAll(async () => {
    await store.close();
    await pool.end();
    await db.drop();
  });

  it('counts the events a run appended, their bytes, and what grew on disk, the bench’s own tables aside', async () => {
    await pool.query('CREATE TABLE read_model (id int PRIMARY KEY, doc text)');
    await pool.query('CREATE TABLE bench_probe (id int PRIMARY KEY, doc text)');
    await store.append('demo-0', [{ type: 'Before', data: { n: 0 } }], 'no_stream');
    const before = await logSnapshot(pool);
    const payload = 'x'.repeat(400);
    for (let i = 1; i <= 20; i++)
      await store.append(
        `demo-${i}`,
        [
          { type: 'Happened', data: { payload } },
          { type: 'Happened', data: { payload } },
        ],
        'no_stream',
      );
    await pool.query("INSERT INTO read_model SELECT g, repeat('r', 500) FROM generate_series(1, 200) g");
    await pool.query("INSERT INTO bench_probe SELECT g, repeat('b', 500) FROM generate_series(1, 2000) g");
    const after = await logSnapshot(pool);

    const g = await logGrowth(pool, before, after, 10);
    expect(g.events).toBe(40);
    expect(g.perRequest.events).toBe(4);
    // Each row holds at least its payload, and not many times more.
    expect(g.eventRowBytes).toBeGreaterThan(40 * 400);
    expect(g.eventRowBytes).toBeLessThan(40 * 1200);
    expect(g.eventLogBytes).toBeGreaterThanOrEqual(g.eventRowBytes / 2);
    // 200 rows of ~500 bytes in the read model; the 2,000 rows of the bench's own table are not the app's.
    expect(g.readModelBytes).toBeGreaterThanOrEqual(200 * 500);
    expect(g.readModelBytes).toBeLessThan(2000 * 500);
  });

  it('counts commits per request from pg_stat_database, and says whether statements can be counted', async () => {
    // A database of its own: nothing else's statistics arrive late into the counts.
    const quiet = await createTestDatabase('benchpgq');
    const q = new Pool({ connectionString: quiet.url, max: 1 });
    try {
      const statements = await statementCounting(q);
      const { rows } = await q.query<{ libs: string }>("SELECT current_setting('shared_preload_libraries') AS libs");
      if (rows[0].libs.includes('pg_stat_statements')) expect(statements).toEqual({ available: true });
      else expect(statements).toEqual({ available: false, reason: 'pg_stat_statements is not in the server’s shared_preload_libraries' });

      await q.query('CREATE TABLE commits_probe (n int)');
      // This backend's statistics go to pg_stat_database now, not up to a few seconds later (PostgreSQL 15+).
      const flush = () => q.query('SELECT pg_stat_force_next_flush()');
      await flush();
      const before = await pgCounters(q, statements.available);
      for (let i = 0; i < 30; i++) await q.query('INSERT INTO commits_probe VALUES ($1)', [i]);
      await flush();
      const per = perRequest(before, await pgCounters(q, statements.available), 10);
      expect(per.rowsInserted).toBe(3);
      // The 30 inserts, and the counting's own one or two queries and the flush.
      expect(per.transactions).toBeGreaterThanOrEqual(3.1);
      expect(per.transactions).toBeLessThanOrEqual(3.4);
      expect(per.statements === undefined).toBe(!statements.available);
    } finally {
      await q.end();
      await quiet.drop();
    }
  });

  it('commits one row per transaction the commit ceiling reports', async () => {
    await pool.query(commitTableDdl);
    const r = await runCommitLoop({ databaseUrl: db.url, connections: 2, durationSeconds: 1 });
    const { rows } = await pool.query<{ n: number; clients: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT client)::int AS clients FROM ${COMMIT_TABLE}`,
    );
    expect(r.errors).toBe(0);
    expect(r.ok).toBeGreaterThan(0);
    expect(rows[0]).toEqual({ n: r.ok, clients: 2 });
    expect(r.rps).toBeCloseTo(r.ok / r.durationSeconds, 6);
    expect(r.connections).toBe(2);
  });
});
