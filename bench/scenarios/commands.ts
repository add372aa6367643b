/**
 * commands: POST /api/permissions (CreatePermission as the admin, unique names) as fast as it
 * goes; a command answers after read-your-writes. The projection lag of every command is
 * measured (bench/lib/lag-probe.ts).
 */
import { CONNECTIONS } from '../lib/connections';
import { reportOf, ScenarioRun } from '../lib/context';
import { installLagProbe, lagBetween } from '../lib/lag-probe';
import { fmt, log } from '../lib/progress';
import { sleep } from '../lib/stack';

export const commands: ScenarioRun = async (ctx) => {
  await installLagProbe(ctx.pool);
  const from = new Date();
  const m = await ctx.measure('commands', ctx.autocannon(ctx.newPermissions(), CONNECTIONS.commands, ctx.o.duration));
  await sleep(500);
  const lag = await lagBetween(ctx.pool, from, new Date());
  log(`  projection lag (append → row visible): p50 ${fmt(lag.p50, 1)} ms, p99 ${fmt(lag.p99, 1)} ms over ${lag.samples} commands`);
  return {
    commands: {
      ...reportOf('POST /api/permissions (CreatePermission as admin, unique names; answers after read-your-writes)', m),
      projectionLagMs: lag,
    },
  };
};
