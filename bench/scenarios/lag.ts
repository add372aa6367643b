/**
 * lag: CreatePermission at a steady --lag-rate (open loop, bench/lib/paced.ts) and the
 * projection lag of every command. When the server cannot keep the rate, the achieved rate is
 * lower and latencies grow: both are reported.
 */
import { CONNECTIONS } from '../lib/connections';
import { reportOf, ScenarioRun } from '../lib/context';
import { installLagProbe, lagBetween } from '../lib/lag-probe';
import { fmt, log } from '../lib/progress';
import { sleep } from '../lib/stack';

export const lag: ScenarioRun = async (ctx) => {
  await installLagProbe(ctx.pool);
  const rate = ctx.o.lagRate;
  const from = new Date();
  const m = await ctx.measure(`commands at ${rate}/s`, ctx.paced(ctx.newPermissions(), rate, CONNECTIONS.lag, ctx.o.duration));
  await sleep(500);
  const lagMs = await lagBetween(ctx.pool, from, new Date());
  log(
    `  achieved ${fmt(m.load.rps)} commands/s; lag p50 ${fmt(lagMs.p50, 1)} ms, p99 ${fmt(lagMs.p99, 1)} ms (${lagMs.samples} samples, ${lagMs.notVisible} not visible)`,
  );
  return {
    lag: {
      ...reportOf(`Projection lag of CreatePermission at a steady ${rate} commands/s (open loop)`, m),
      targetRate: rate,
      projectionLagMs: lagMs,
    },
  };
};
