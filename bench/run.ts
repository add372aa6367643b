/**
 * `npm run bench`: the performance suite (see --help and bench/README.md). The orchestration
 * only: start its own stack, seed, measure the ceilings, run the chosen scenarios
 * (bench/scenarios/*.ts) and the ratio of each to its ceiling, write bench/results.{json,md},
 * and remove everything it created, also on failure and on Ctrl-C.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { PostgresEventStore } from '../src/eventstore/postgres';
import { ADMIN_EMAIL, PASSWORD, seedEmail } from './lib/accounts';
import { apiProcesses, appEnv, defaultAccessTokenTtl, gitHead, rateLimitEnv } from './lib/app-env';
import { CONNECTIONS } from './lib/connections';
import { createContext, ScenarioRun } from './lib/context';
import { summariseProfile } from './lib/cpuprofile';
import { hold } from './lib/hold';
import { HELP, Options, parseOptions, Scenario } from './lib/options';
import { logGrowth, logSnapshot, statementCounting } from './lib/pg-work';
import { bar, fmt, log } from './lib/progress';
import { waitForProjections } from './lib/projection-wait';
import { renderMarkdown } from './lib/report';
import { disturbed, ratioToCeiling, Results, ScenarioReport, userDay } from './lib/results';
import { countSeedEvents, insertBatches, planIds, seedEvents, SeedPlan } from './lib/seed';
import { login as signIn, loginMany, Session } from './lib/sessions';
import {
  assertLoopback,
  cleanupAll,
  createDatabase,
  deleteRedisKeys,
  onCleanup,
  postgresVersion,
  ROOT,
  run,
  ServerProcess,
  startApp,
} from './lib/stack';
import { commands } from './scenarios/commands';
import { commitCeiling } from './scenarios/commit-ceiling';
import { httpCeiling } from './scenarios/http-ceiling';
import { lag } from './scenarios/lag';
import { login } from './scenarios/login';
import { me } from './scenarios/me';
import { profile } from './scenarios/profile';
import { refresh } from './scenarios/refresh';
import { replay } from './scenarios/replay';
import { storm } from './scenarios/storm';
import { users } from './scenarios/users';

/** The load scenarios, in the order they run (replay comes last: it stops the app). */
const LOAD_SCENARIOS: Record<Exclude<Scenario, 'replay'>, ScenarioRun> = { login, refresh, me, profile, users, commands, lag, storm };

/** The ceilings the chosen scenarios are compared with (results.CEILING_OF by report key). */
const ceilingsFor = (only: ReadonlySet<Scenario>) => ({
  http: (['me', 'profile', 'users'] as const).some((s) => only.has(s)),
  commit: (['refresh', 'commands', 'lag'] as const).some((s) => only.has(s)),
});

async function main(): Promise<void> {
  let o: Options;
  try {
    o = parseOptions(process.argv.slice(2), process.env, defaultAccessTokenTtl());
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
  if (o.help) {
    console.log(HELP);
    return;
  }
  assertLoopback(o.databaseUrl, 'BENCH_DATABASE_URL');
  assertLoopback(o.redisUrl, 'REDIS_URL');
  const outDir = o.out ? path.resolve(o.out) : path.join(ROOT, 'bench');
  const startedAt = Date.now();
  const results: Results = {
    date: new Date().toISOString(),
    finished: false,
    machine: {
      cores: os.cpus().length,
      availableParallelism: os.availableParallelism?.() ?? os.cpus().length,
      model: os.cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      node: process.version,
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    },
    settings: {
      users: o.users,
      bcryptCost: o.bcryptCost,
      durationSeconds: o.duration,
      warmupSeconds: o.warmup,
      scenarios: [...o.only],
      replayEvents: o.replayEvents,
      replaySeconds: o.replaySeconds,
      apiProcesses: apiProcesses(),
      commit: gitHead(),
      cpuProfiled: o.cpuProf,
      ceilings: o.ceilings,
      verifiedWithAutocannon: o.verifyWithAutocannon,
      loadGenerator: 'autocannon 9 and the paced client in a load process of their own, one per run (bench/lib/load-process.ts)',
      rateLimits: rateLimitEnv(),
    },
    scenarios: {},
    notes: [],
  };
  const writeResults = () => {
    results.totalSeconds = Math.round((Date.now() - startedAt) / 1000);
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    fs.writeFileSync(path.join(outDir, 'results.md'), renderMarkdown(results));
  };

  // 1. Build.
  if (o.build) {
    log('building the app (npm run build)');
    await run('npm', ['run', 'build', '--silent'], { quiet: true });
  }

  // 2. Database, event store schema, Redis prefix, statement counting.
  results.machine.postgres = await postgresVersion(o.databaseUrl);
  const db = await createDatabase(o.databaseUrl);
  const redisPrefix = `bench_${randomBytes(4).toString('hex')}`;
  onCleanup('delete Redis keys', async () => {
    const n = await deleteRedisKeys(o.redisUrl, redisPrefix);
    log(`deleted ${n} Redis keys under ${redisPrefix}:`);
  });
  log(`database ${db.name}, Redis prefix ${redisPrefix}, bcrypt cost ${o.bcryptCost}`);
  const pool = new Pool({ connectionString: db.url, max: 4 });
  pool.on('error', () => undefined);
  onCleanup('close bench pool', () => pool.end());
  {
    const store = PostgresEventStore.fromConfig({ connectionString: db.url, max: 1 });
    await store.migrate();
    await store.close();
  }
  const statements = await statementCounting(pool);
  results.settings.statementsPerRequest = statements.available
    ? 'pg_stat_statements (top-level statements of the bench database)'
    : `not counted: ${statements.reason}; commits per request from pg_stat_database.xact_commit`;
  log(
    statements.available
      ? 'statements per request from pg_stat_statements'
      : `statements per request not counted (${statements.reason}); commits per request from xact_commit`,
  );

  // 3. Seed.
  const plan: SeedPlan = { users: o.users, services: 50, permissions: 1000, grantShare: 0.2, password: PASSWORD, bcryptCost: o.bcryptCost };
  const ids = planIds(plan);
  const seedTotal = countSeedEvents(plan);
  {
    const b = bar('seeding events', seedTotal, 'events');
    const t = Date.now();
    let done = 0;
    const n = await insertBatches(pool, seedEvents(plan, ids, 5000), 2, (k) => {
      done += k;
      b.update(done, { rate: `${fmt(done / ((Date.now() - t) / 1000))} ev/s` });
    });
    b.stop();
    await pool.query('ANALYZE');
    const secs = (Date.now() - t) / 1000;
    results.seed = {
      events: n,
      seconds: Math.round(secs * 10) / 10,
      eventsPerSecond: Math.round(n / secs),
      users: o.users + 1,
      services: plan.services,
      permissions: plan.permissions,
      usersWithGrants: `${plan.grantShare * 100}% (1-5 permissions each)`,
      method:
        'batched INSERT … SELECT FROM json_array_elements (5,000 events per statement, 2 connections), es_streams revisions in the same transaction',
    };
    log(
      `seeded ${fmt(n)} events in ${fmt(secs, 1)} s (${o.users} users + admin, ${plan.services} services, ${plan.permissions} permissions, grants)`,
    );
  }

  // 4. The app, and the projection of the seed.
  const env = appEnv(o, db.url, redisPrefix);
  log(
    `starting the app: node dist/main.js all, ${apiProcesses()} API process(es) (production, port ${o.port}; its output in ${env.DATA_DIR}/app.log)`,
  );
  const appStarted = Date.now();
  let app: ServerProcess = await startApp(env, o.port);
  log(`listening after ${fmt((Date.now() - appStarted) / 1000, 1)} s; waiting for the projections to catch up with the seed`);
  {
    const w = await waitForProjections(pool, seedTotal, o.projectionTimeout, appStarted);
    results.projectionOfSeed = {
      events: seedTotal,
      seconds: Math.round(w.seconds * 10) / 10,
      eventsPerSecond: Math.round(seedTotal / w.seconds),
      caughtUp: w.caughtUp,
      secondsPerProjection: w.perProjection,
      method:
        'from the app process start until every projection checkpoint reached the head of the log (polled every 0.5 s); the projections run in groups in the app primary process, each group reading the log once',
    };
    if (!w.caughtUp)
      results.notes.push(
        `The projections had not caught up with the seed after ${o.projectionTimeout} s; the scenarios ran with a backlog.`,
      );
    log(`projections ${w.caughtUp ? 'caught up' : 'NOT caught up'} after ${fmt(w.seconds, 1)} s (${fmt(seedTotal / w.seconds)} events/s)`);
    // A database in steady state has planner statistics (autovacuum); tables the app just filled
    // may not have them yet, and plans made without them are not what production runs.
    await pool.query('ANALYZE');
  }

  const loadScenarios = [...o.only].filter((s): s is Exclude<Scenario, 'replay'> => s !== 'replay');
  let profileDir: string | null = null;
  if (o.cpuProf && loadScenarios.length) {
    profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-bench-prof-'));
    onCleanup('remove profile dir', async () => fs.rmSync(profileDir!, { recursive: true, force: true }));
    log('restarting the app under --cpu-prof for the load scenarios');
    await app.stop();
    app = await startApp(env, o.port, ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]);
  }

  // 5. Sessions for the authenticated scenarios; users are split so no scenario evicts another's sessions.
  const needsSessions = loadScenarios.some((s) => ['me', 'profile', 'storm', 'refresh'].includes(s));
  const needsAdmin = loadScenarios.some((s) => ['users', 'commands', 'lag'].includes(s));
  log('signing in the sessions the scenarios use (bcrypt-bound, a few seconds)');
  const signInsFrom = await logSnapshot(pool);
  const readers = needsSessions
    ? await loginMany(
        app.url,
        Array.from({ length: 32 }, (_, i) => seedEmail(i)),
        4,
      )
    : [];
  const refreshers = o.only.has('refresh')
    ? await loginMany(
        app.url,
        Array.from({ length: CONNECTIONS.refresh }, (_, i) => seedEmail(100 + i)),
        4,
      )
    : [];
  const admin: Session | null = needsAdmin ? await signIn(app.url, ADMIN_EMAIL) : null;
  const signIns = readers.length + refreshers.length + (admin ? 1 : 0);
  if (signIns) results.signIns = await logGrowth(pool, signInsFrom, await logSnapshot(pool), signIns);

  if (o.hold)
    await hold({
      url: app.url,
      appPid: app.child.pid,
      apiProcesses: apiProcesses(),
      tokenTtlSeconds: Number(env.ACCESS_TOKEN_TTL),
      reader: readers[0],
      admin,
    });

  const ctx = createContext({
    o,
    app,
    databaseUrl: db.url,
    pool,
    ids,
    readers,
    refreshers,
    admin,
    apiProcesses: apiProcesses(),
    statements: statements.available,
    runId: randomBytes(3).toString('hex'),
  });
  const record = (reports: Record<string, ScenarioReport>) => {
    for (const [key, r] of Object.entries(reports)) {
      results.scenarios[key] = r;
      const c = ratioToCeiling(key, r, results.scenarios);
      if (c) {
        r.ceiling = c;
        log(
          `  ${key}: ${fmt(c.figure)}/s = ${fmt(100 * c.ratio, 1)}% of the ${c.kind} ceiling (${fmt(c.ceiling)}/s, ${c.from})${c.busyMachine ? '; other processes took CPU during it or its ceiling' : ''}`,
        );
      }
    }
    writeResults();
  };

  // 6. The ceilings, then the load scenarios.
  if (o.ceilings) {
    const need = ceilingsFor(o.only);
    if (need.http) {
      log(`scenario httpCeiling: a bare Koa app, ${apiProcesses()} process(es), the read scenarios' connections`);
      record(await httpCeiling(ctx));
    }
    if (need.commit) {
      log(`scenario commitCeiling: BEGIN; INSERT; COMMIT from ${CONNECTIONS.commitCeiling} connections`);
      record(await commitCeiling(ctx));
    }
  }
  for (const name of loadScenarios) {
    log(`scenario ${name}`);
    record(await LOAD_SCENARIOS[name](ctx));
  }

  if (loadScenarios.length && profileDir) {
    await app.stop();
    keepProfiles(results, profileDir, outDir, loadScenarios);
  }

  if (o.only.has('replay')) {
    log('scenario replay');
    record(await replay(ctx));
  }

  // Log growth per active user-day: a login, then a refresh every access-token lifetime.
  const refreshed = results.scenarios.refresh?.logGrowth;
  const loggedIn = results.scenarios.login?.logGrowth ?? results.signIns;
  if (refreshed && loggedIn) {
    results.userDay = userDay(
      loggedIn,
      refreshed,
      o.userDayTtl,
      results.scenarios.login ? 'the login scenario' : 'the sign-ins before the scenarios',
    );
    const d = results.userDay;
    log(
      `log growth per active user-day (ACCESS_TOKEN_TTL ${d.accessTokenTtlSeconds} s: 1 login + ${fmt(d.refreshesPerDay, 1)} refreshes): ${fmt(d.events, 1)} events, ${fmt(d.eventRowBytes)} bytes of event rows, ${fmt(d.eventLogBytes)} bytes of event tables on disk`,
    );
  }

  interference(results);
  results.machine.loadAverageAtEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
  results.settings.appOutputBytes = app.outputBytes();
  results.finished = true;
  writeResults();
  log(`done in ${fmt((Date.now() - startedAt) / 1000, 0)} s; results in ${path.relative(process.cwd(), path.join(outDir, 'results.md'))}`);
}

/** One profile per app process (the primary, and each forked API process): all kept; the primary's (the oldest pid) summarised. */
function keepProfiles(results: Results, profileDir: string, outDir: string, scenarios: string[]): void {
  const files = fs
    .readdirSync(profileDir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort((a, b) => Number(a.split('.')[3]) - Number(b.split('.')[3]));
  files.forEach((f, i) =>
    fs.copyFileSync(path.join(profileDir, f), path.join(outDir, i === 0 ? 'profile.cpuprofile' : `profile-api-${i}.cpuprofile`)),
  );
  if (!files.length) return;
  const s = summariseProfile(path.join(profileDir, files[0]), ROOT, 30);
  const keep = path.join(outDir, 'profile.cpuprofile');
  results.cpuProfile = { ...s, file: path.relative(ROOT, keep), others: files.length - 1, scenarios };
  log(
    `cpu profiles: ${path.relative(ROOT, keep)} (primary)${files.length > 1 ? ` and ${files.length - 1} API process profile(s) beside it` : ''}; top self time of the primary:`,
  );
  for (const f of s.topFunctions.slice(0, 12)) log(`  ${String(f.share).padStart(5)}%  ${f.name}  ${f.where}`);
}

/** Notes the scenarios during which other processes on the machine took CPU from the bench. */
function interference(results: Results): void {
  const busy = Object.entries(results.scenarios).flatMap(([k, s]) => {
    const c = s?.cpu;
    return c && disturbed(c) ? [`${k} ${fmt(c.other, 2)}`] : [];
  });
  if (busy.length) {
    results.notes.push(
      `Other processes on this machine (not the app, PostgreSQL, Redis or the bench) used CPU during some scenarios (average cores: ${busy.join(', ')} of ${os.cpus().length}); those numbers are lower than a quiet machine would give.`,
    );
  }
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${sig}: stopping and cleaning up (app, database, Redis keys)…`);
    void cleanupAll().finally(() => process.exit(130));
  });
}

main()
  .then(() => cleanupAll())
  .then(() => process.exit(0))
  .catch(async (err) => {
    console.error(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
    await cleanupAll();
    process.exit(1);
  });
