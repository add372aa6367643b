/**
 * storm: GET /api/profile at a steady --storm-profile-rate (open loop), alone, then while a
 * login storm runs (autocannon, 8 connections, in a load process of its own), then alone again.
 * The storm's p99 is compared with the lower of the two idle p99s: one stray pause in an idle
 * run would otherwise flatter the ratio.
 */
import { CONNECTIONS } from '../lib/connections';
import type { ScenarioRun } from '../lib/context';
import { log, summary } from '../lib/progress';

export const storm: ScenarioRun = async (ctx) => {
  const { o } = ctx;
  const profiles = ctx.paced(ctx.gets('/api/profile', ctx.readers), o.stormProfileRate, CONNECTIONS.stormProfile, o.duration);
  await ctx.warm(profiles);
  const idle = await ctx.measure('profile (idle)', profiles);
  const stormed = await ctx.together('profile during login storm', [
    profiles,
    ctx.autocannon(ctx.logins(), CONNECTIONS.stormLogins, o.duration),
  ]);
  const [during, logins] = stormed.outcomes.map((x) => x.load);
  const after = await ctx.measure('profile (idle, after)', profiles);
  const baseline = after.load.p99 < idle.load.p99 ? after : idle;
  log(`  idle:   ${summary(idle.load)}`);
  log(`  storm:  ${summary(during)}`);
  log(`  logins: ${summary(logins)}`);
  log(`  idle after: ${summary(after.load)}`);
  return {
    storm: {
      title: `GET /api/profile at a steady ${o.stormProfileRate}/s (open loop): idle, then during a login storm (autocannon, ${CONNECTIONS.stormLogins} connections)`,
      idle: baseline.load,
      idleBefore: idle.load,
      idleAfter: after.load,
      idleCpu: idle.cpu,
      during,
      logins,
      cpu: stormed.cpu,
      ratioP99: during.p99 / baseline.load.p99,
    },
  };
};
