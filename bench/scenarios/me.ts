/** me: GET /api/auth/me with `Authorization: Bearer`, 32 sessions spread over the connections. */
import { CONNECTIONS } from '../lib/connections';
import { reportOf, ScenarioRun } from '../lib/context';

export const me: ScenarioRun = async (ctx) => {
  const job = ctx.autocannon(ctx.gets('/api/auth/me', ctx.readers), CONNECTIONS.me, ctx.o.duration);
  await ctx.warm(job);
  const m = await ctx.measure('me', job);
  const report = reportOf('GET /api/auth/me (Bearer, 32 sessions spread over the connections)', m);
  await ctx.crossCheck(report, '/api/auth/me', ctx.readers[0].accessToken);
  return { me: report };
};
