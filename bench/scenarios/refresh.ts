/**
 * refresh: POST /api/auth/token. Each connection owns one of the sessions signed in beforehand
 * and sends the refresh token of its previous answer, so every request is a legitimate rotation
 * (no reuse detection, no grace-window refusals). Its log growth per refresh is the refresh
 * part of the log growth per active user-day.
 */
import { CONNECTIONS } from '../lib/connections';
import { reportOf, ScenarioRun } from '../lib/context';

export const refresh: ScenarioRun = async (ctx) => {
  const recipe = { kind: 'refresh' as const, refreshTokens: ctx.refreshers.map((s) => s.refreshToken) };
  const m = await ctx.measure('refresh', ctx.autocannon(recipe, CONNECTIONS.refresh, ctx.o.duration));
  return {
    refresh: {
      ...reportOf('POST /api/auth/token (each connection owns a session and always presents its latest refresh token)', m),
      sessions: CONNECTIONS.refresh,
      chainBreaks: m.chainBreaks,
    },
  };
};
