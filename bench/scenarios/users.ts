/**
 * users: the admin list GET /api/users?role=viewer&sort=-createdAt with a search (q=user12,
 * about 1,000 matches in 100,000 users) and without; two reports, usersSearch and usersList.
 */
import { CONNECTIONS } from '../lib/connections';
import { reportOf, ScenarioRun } from '../lib/context';
import { fmt, log } from '../lib/progress';
import type { ScenarioReport } from '../lib/results';

export const users: ScenarioRun = async (ctx) => {
  const admin = ctx.admin;
  if (!admin) throw new Error('the users scenario needs the admin session');
  const reports: Record<string, ScenarioReport> = {};
  for (const [key, q, title] of [
    [
      'usersSearch',
      '/api/users?role=viewer&sort=-createdAt&q=user12',
      `GET /api/users?role=viewer&sort=-createdAt&q=user12 (admin, over ${fmt(ctx.o.users)} users)`,
    ],
    ['usersList', '/api/users?role=viewer&sort=-createdAt', 'GET /api/users?role=viewer&sort=-createdAt (admin, no q)'],
  ] as const) {
    log(`scenario ${key}: ${title}`);
    const probe = await fetch(`${ctx.app.url}${q}`, { headers: { authorization: `Bearer ${admin.accessToken}` } });
    const body = (await probe.json()) as { meta?: { total: number }; data?: unknown[] };
    log(`  ${q} → ${probe.status}, total ${body.meta?.total}, page of ${body.data?.length}`);
    const job = ctx.autocannon(ctx.gets(q, [admin]), CONNECTIONS.users, ctx.o.duration);
    await ctx.warm(job);
    const report: ScenarioReport = {
      ...reportOf(title, await ctx.measure(key, job)),
      matches: body.meta?.total,
      pageSize: body.data?.length,
    };
    await ctx.crossCheck(report, q, admin.accessToken);
    reports[key] = report;
  }
  return reports;
};
