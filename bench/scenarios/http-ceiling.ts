/**
 * The HTTP ceiling: a bare Koa hello-world (bench/lib/hello-koa.ts) with as many processes as
 * the app has API processes, driven like the read scenarios (same load process, connections,
 * warm-up and duration) while the app is up and idle. One report per connection count of the
 * chosen read scenarios: httpCeiling16, httpCeiling8.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CONNECTIONS } from '../lib/connections';
import { reportOf, ScenarioRun } from '../lib/context';
import { fmt, log } from '../lib/progress';
import { httpCeilingKey, ScenarioReport } from '../lib/results';
import { onCleanup, ROOT, startServer } from '../lib/stack';

/** The connection counts the chosen read scenarios use. */
export const httpCeilingConnections = (only: ReadonlySet<string>): number[] =>
  [...new Set((['me', 'profile', 'users'] as const).filter((s) => only.has(s)).map((s) => CONNECTIONS[s]))].sort((a, b) => b - a);

export const httpCeiling: ScenarioRun = async (ctx) => {
  const port = ctx.o.port + 1;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-bench-hello-'));
  onCleanup('remove hello-world dir', async () => fs.rmSync(dir, { recursive: true, force: true }));
  const hello = await startServer({
    name: 'the bare Koa app',
    args: ['--import', 'tsx', path.join(ROOT, 'bench', 'lib', 'hello-koa.ts')],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      PORT: String(port),
      PROCESSES: String(ctx.apiProcesses),
    },
    port,
    readyPath: '/',
    logFile: path.join(dir, 'hello.log'),
  });
  const reports: Record<string, ScenarioReport> = {};
  try {
    for (const connections of httpCeilingConnections(ctx.o.only)) {
      const job = ctx.autocannon(ctx.gets('/', []), connections, ctx.o.duration, hello.url);
      await ctx.warm(job);
      const m = await ctx.measure(`bare Koa, ${connections} connections`, job, hello.child.pid ?? null);
      log(`  HTTP ceiling at ${connections} connections, ${ctx.apiProcesses} process(es): ${fmt(m.load.rps)} req/s`);
      reports[httpCeilingKey(connections)] = {
        ...reportOf(`HTTP ceiling: bare Koa hello-world, ${ctx.apiProcesses} process(es) (node:cluster), ${connections} connections`, m),
        processes: ctx.apiProcesses,
      };
    }
  } finally {
    await hello.stop();
  }
  return reports;
};
