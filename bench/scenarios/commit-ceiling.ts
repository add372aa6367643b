/**
 * The commit ceiling: `BEGIN; INSERT; COMMIT` (one round trip each) from 16 `pg` connections
 * on the bench database, into a scratch table, for --duration seconds, from a load process
 * while the app is up and idle (bench/lib/commits.ts). The scenarios that append are compared
 * with it.
 */
import { CONNECTIONS } from '../lib/connections';
import { COMMIT_TABLE, commitTableDdl } from '../lib/commits';
import { reportOf, ScenarioRun } from '../lib/context';
import { fmt, log } from '../lib/progress';

export const commitCeiling: ScenarioRun = async (ctx) => {
  await ctx.pool.query(commitTableDdl);
  try {
    const m = await ctx.measure('BEGIN; INSERT; COMMIT', {
      tool: 'commits',
      databaseUrl: ctx.databaseUrl,
      connections: CONNECTIONS.commitCeiling,
      durationSeconds: ctx.o.duration,
    });
    log(`  commit ceiling: ${fmt(m.load.rps)} transactions/s from ${CONNECTIONS.commitCeiling} connections`);
    return {
      commitCeiling: reportOf(
        `Commit ceiling: BEGIN; INSERT; COMMIT in one round trip, ${CONNECTIONS.commitCeiling} pg connections, scratch table`,
        m,
      ),
    };
  } finally {
    await ctx.pool.query(`DROP TABLE IF EXISTS ${COMMIT_TABLE}`);
  }
};
