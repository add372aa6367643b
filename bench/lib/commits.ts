/**
 * The commit ceiling: how many `BEGIN; INSERT; COMMIT` transactions PostgreSQL commits a second
 * on this machine from this many clients through `pg`, each transaction one round trip (the
 * three statements in one simple query), for a fixed time. Nothing the app does per request can
 * commit faster; the scenarios that append report their share of it.
 */
import { Client } from 'pg';
import { LoadResult, percentile } from './results';

/** The scratch table the loop inserts into (created and dropped by the commit-ceiling scenario). */
export const COMMIT_TABLE = 'bench_commit_ceiling';

export const commitTableDdl = `CREATE TABLE IF NOT EXISTS ${COMMIT_TABLE} (id bigserial PRIMARY KEY, client int NOT NULL, n bigint NOT NULL, at timestamptz NOT NULL DEFAULT now())`;

export async function runCommitLoop(o: { databaseUrl: string; connections: number; durationSeconds: number }): Promise<LoadResult> {
  const clients = await Promise.all(
    Array.from({ length: o.connections }, async () => {
      const c = new Client({ connectionString: o.databaseUrl, application_name: 'iam-bench-commit-ceiling' });
      await c.connect();
      return c;
    }),
  );
  const samples: number[] = [];
  let errors = 0;
  const sampleErrors: string[] = [];
  const started = process.hrtime.bigint();
  const elapsedMs = () => Number(process.hrtime.bigint() - started) / 1e6;
  const endMs = o.durationSeconds * 1000;
  let finishedMs = endMs;
  try {
    await Promise.all(
      clients.map(async (c, k) => {
        for (let n = 0; elapsedMs() < endMs; n++) {
          const t = elapsedMs();
          try {
            await c.query(`BEGIN; INSERT INTO ${COMMIT_TABLE} (client, n) VALUES (${k}, ${n}); COMMIT`);
            samples.push(elapsedMs() - t);
          } catch (err) {
            errors++;
            if (sampleErrors.length < 5) sampleErrors.push((err as Error).message);
            await c.query('ROLLBACK').catch(() => undefined);
          }
        }
      }),
    );
    finishedMs = elapsedMs();
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }
  // Transactions in flight at the end finish after it: they and their time both count.
  const seconds = finishedMs / 1000;
  const sorted = Float64Array.from(samples).sort();
  return {
    rps: samples.length / seconds,
    requests: samples.length + errors,
    ok: samples.length,
    non2xx: 0,
    errors,
    timeouts: 0,
    statuses: {},
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
    mean: samples.length ? samples.reduce((a, b) => a + b, 0) / samples.length : NaN,
    durationSeconds: seconds,
    connections: o.connections,
    sampleErrors,
  };
}
