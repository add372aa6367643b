/** profile: GET /api/profile with `Authorization: Bearer`, 32 sessions spread over the connections. */
import { CONNECTIONS } from '../lib/connections';
import { reportOf, ScenarioRun } from '../lib/context';

export const profile: ScenarioRun = async (ctx) => {
  const job = ctx.autocannon(ctx.gets('/api/profile', ctx.readers), CONNECTIONS.profile, ctx.o.duration);
  await ctx.warm(job);
  const m = await ctx.measure('profile', job);
  const report = reportOf('GET /api/profile (Bearer, 32 sessions spread over the connections)', m);
  await ctx.crossCheck(report, '/api/profile', ctx.readers[0].accessToken);
  return { profile: report };
};
