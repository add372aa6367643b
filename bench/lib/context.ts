/**
 * What a scenario (bench/scenarios/*.ts) is given: the app and its database, the seeded ids,
 * the signed-in sessions, and the measuring. A measured run is a load process of its own
 * (bench/lib/loadgen.ts) with, over it, the CPU of every process group, PostgreSQL's work per
 * request and what the run added to the database.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Pool } from 'pg';
import { CpuSampler, CpuShare, reapedChildSeconds } from './cpu';
import { LoadJob, LoadOutcome, prepareLoad, runLoadProcess } from './loadgen';
import type { Options } from './options';
import { logGrowth, logSnapshot, pgCounters, perRequest } from './pg-work';
import { fmt, log, summary, timed } from './progress';
import type { PacedRecipe, Recipe } from './recipes';
import { agreement, disturbed, LoadResult, LogGrowth, PostgresPerRequest, ScenarioReport } from './results';
import type { SeededIds } from './seed';
import type { Session } from './sessions';
import { onCleanup, ROOT, ServerProcess, sleep } from './stack';

/** A scenario: given the context, the reports it made, by their key in results.scenarios. */
export type ScenarioRun = (ctx: ScenarioContext) => Promise<Record<string, ScenarioReport>>;

export interface Measured {
  load: LoadResult;
  cpu: CpuShare | null;
  postgresPerRequest: PostgresPerRequest;
  logGrowth: LogGrowth;
  chainBreaks: number;
}

/** The report fields every measured run fills in. */
export const reportOf = (title: string, m: Measured): ScenarioReport => ({
  title,
  load: m.load,
  cpu: m.cpu,
  postgresPerRequest: m.postgresPerRequest,
  logGrowth: m.logGrowth,
});

export interface ScenarioContext {
  readonly o: Options;
  readonly app: ServerProcess;
  readonly databaseUrl: string;
  /** The bench's own pool on the bench database. */
  readonly pool: Pool;
  readonly ids: SeededIds;
  /** 32 sessions for the authenticated reads. */
  readonly readers: Session[];
  /** One session per refresh connection. */
  readonly refreshers: Session[];
  readonly admin: Session | null;
  readonly apiProcesses: number;
  /** GET `path` with the sessions' access tokens (none: no Authorization header). */
  gets(path: string, sessions: Session[]): Extract<Recipe, { kind: 'get' }>;
  /** Logins of users no earlier run of this bench signed in. */
  logins(): Recipe;
  /** CreatePermission with names no earlier run of this bench used. */
  newPermissions(): Extract<Recipe, { kind: 'createPermission' }>;
  autocannon(recipe: Recipe, connections: number, seconds: number, url?: string): LoadJob;
  paced(recipe: PacedRecipe, rate: number, connections: number, seconds: number): LoadJob;
  /** A measured run; `appPid` is the process counted as the app (default: the app's primary). */
  measure(label: string, job: LoadJob, appPid?: number | null): Promise<Measured>;
  /** Runs started together and measured as one (CPU only): the storm beside the paced reads. */
  together(label: string, jobs: LoadJob[]): Promise<{ outcomes: LoadOutcome[]; cpu: CpuShare | null }>;
  /** An untimed run first (`--warmup` seconds of the same job). */
  warm(job: LoadJob): Promise<void>;
  /** With --verify-with-autocannon: the plain autocannon CLI on the same read, recorded in `report.crossCheck`. */
  crossCheck(report: ScenarioReport, path: string, token: string): Promise<void>;
}

export function createContext(c: {
  o: Options;
  app: ServerProcess;
  databaseUrl: string;
  pool: Pool;
  ids: SeededIds;
  readers: Session[];
  refreshers: Session[];
  admin: Session | null;
  apiProcesses: number;
  /** Whether pg_stat_statements can count statements. */
  statements: boolean;
  runId: string;
}): ScenarioContext {
  const { o, app, pool } = c;
  const database = new URL(c.databaseUrl).pathname.slice(1);
  const sampler = (appPid: number | null) => new CpuSampler(appPid, database);
  // Every login signs in a user no earlier run signed in, every permission a new name.
  let nextLogin = 0;
  let nextPermission = 0;
  const consume = (job: LoadJob, outcome: LoadOutcome) => {
    if (job.tool === 'commits') return;
    if (job.recipe.kind === 'login') nextLogin += outcome.built;
    if (job.recipe.kind === 'createPermission') nextPermission += outcome.built;
  };
  const bearerToken = (s: Session | null): string => {
    if (!s) throw new Error('this scenario needs the admin session');
    return s.accessToken;
  };

  const ctx: ScenarioContext = {
    o,
    app,
    databaseUrl: c.databaseUrl,
    pool,
    ids: c.ids,
    readers: c.readers,
    refreshers: c.refreshers,
    admin: c.admin,
    apiProcesses: c.apiProcesses,
    gets: (p, sessions) => ({ kind: 'get', path: p, tokens: sessions.map((s) => s.accessToken) }),
    logins: () => ({ kind: 'login', first: nextLogin, users: o.users }),
    newPermissions: () => ({
      kind: 'createPermission',
      token: bearerToken(c.admin),
      runId: c.runId,
      first: nextPermission,
      serviceIds: c.ids.serviceIds,
    }),
    autocannon: (recipe, connections, seconds, url = app.url) => ({
      tool: 'autocannon',
      url,
      connections,
      durationSeconds: seconds,
      recipe,
    }),
    paced: (recipe, rate, connections, seconds) => ({ tool: 'paced', url: app.url, rate, durationSeconds: seconds, connections, recipe }),

    async measure(label, job, appPid = app.child.pid ?? null) {
      const prepared = await prepareLoad(job);
      const before = await pgCounters(pool, c.statements);
      const grownFrom = await logSnapshot(pool);
      const cpu = sampler(appPid);
      const outcome = await timed(label, job.durationSeconds, prepared.run());
      const share = cpu.stop(outcome.cpuSeconds);
      consume(job, outcome);
      // The statistics collector reports at most every 0.5 s or so: let it catch up.
      await sleep(1000);
      const after = await pgCounters(pool, c.statements);
      const grownTo = await logSnapshot(pool);
      const load = outcome.load;
      const postgresPerRequest = perRequest(before, after, load.requests);
      const growth = await logGrowth(pool, grownFrom, grownTo, load.requests);
      log(`  ${summary(load)}`);
      log(
        `  PostgreSQL per request: ${postgresPerRequest.transactions} commits${postgresPerRequest.statements === undefined ? '' : `, ${postgresPerRequest.statements} statements`}, ${postgresPerRequest.rowsFetched} rows fetched, ${postgresPerRequest.rowsInserted} inserted, ${postgresPerRequest.rowsUpdated} updated`,
      );
      if (growth.events > 0)
        log(
          `  log growth per request: ${fmt(growth.perRequest.events, 2)} events, ${fmt(growth.perRequest.eventRowBytes)} bytes of event rows, ${fmt(growth.perRequest.eventLogBytes)} bytes of event tables on disk`,
        );
      if (load.sampleErrors.length) log(`  non-2xx samples: ${load.sampleErrors.join(' | ')}`);
      return { load, cpu: share, postgresPerRequest, logGrowth: growth, chainBreaks: outcome.chainBreaks };
    },

    async together(label, jobs) {
      const prepared = await Promise.all(jobs.map(prepareLoad));
      const cpu = sampler(app.child.pid ?? null);
      const outcomes = await timed(label, Math.max(...jobs.map((j) => j.durationSeconds)), Promise.all(prepared.map((p) => p.run())));
      const share = cpu.stop(outcomes.reduce((a, x) => a + x.cpuSeconds, 0));
      jobs.forEach((j, i) => consume(j, outcomes[i]));
      return { outcomes, cpu: share };
    },

    async warm(job) {
      if (o.warmup <= 0) return;
      const outcome = await timed('warm-up (not counted)', o.warmup, runLoadProcess({ ...job, durationSeconds: o.warmup }));
      consume(job, outcome);
    },

    async crossCheck(report, p, token) {
      if (!o.verifyWithAutocannon || !report.load) return;
      const connections = report.load.connections;
      const seconds = Math.round(o.duration);
      const args = ['-c', String(connections), '-d', String(seconds), '--json', '-H', `authorization: Bearer ${token}`, `${app.url}${p}`];
      const reapedBefore = reapedChildSeconds();
      const cpu = sampler(app.child.pid ?? null);
      const cli = await timed('plain autocannon CLI', seconds, autocannonCli(args));
      const share = cpu.stop(reapedChildSeconds() - reapedBefore);
      const rps = cli['2xx'] / cli.duration;
      const a = agreement(report.load.rps, rps);
      report.crossCheck = {
        command: `autocannon ${args.map((x) => (x.startsWith('authorization:') ? "'authorization: Bearer <token>'" : x)).join(' ')}`,
        rps,
        p50: cli.latency.p50,
        p99: cli.latency.p99,
        non2xx: cli.non2xx,
        errors: cli.errors,
        cpu: share,
        ...a,
        busyMachine: disturbed(report.cpu) || disturbed(share),
      };
      log(
        `  plain autocannon CLI: ${fmt(rps)} req/s, p50 ${cli.latency.p50} ms, p99 ${cli.latency.p99} ms; bench ÷ CLI = ${fmt(a.ratio, 2)} (${a.agrees ? 'agree' : 'DISAGREE'} within ±15%${report.crossCheck.busyMachine ? '; other processes took CPU during one of the runs' : ''})`,
      );
    },
  };
  return ctx;
}

/** What the autocannon CLI's --json prints, as far as the cross-check reads it. */
interface CliResult {
  '2xx': number;
  non2xx: number;
  errors: number;
  duration: number;
  latency: { p50: number; p99: number };
}

/** Runs `node node_modules/autocannon/autocannon.js <args>` (the plain CLI, no npm in between). */
function autocannonCli(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'node_modules', 'autocannon', 'autocannon.js'), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onCleanup('stop the autocannon CLI', async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString('utf8')).slice(-4000)));
    child.on('error', reject);
    child.on('exit', (code) => {
      try {
        if (code !== 0) throw new Error(`exited with ${code}`);
        resolve(JSON.parse(out) as CliResult);
      } catch (e) {
        reject(new Error(`autocannon CLI: ${(e as Error).message}\n${err}`));
      }
    });
  });
}
