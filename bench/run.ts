/**
 * `npm run bench`: the performance suite of issue "Fast, and shown to be". See --help and
 * bench/README.md. Starts its own stack, seeds, drives load, writes bench/results.{json,md},
 * and removes everything it created, also on failure and Ctrl-C.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type autocannon from 'autocannon';
import { Presets, SingleBar } from 'cli-progress';
import { Pool } from 'pg';
import { PostgresEventStore } from '../src/eventstore/postgres';
import { PROJECTIONS } from '../src/projections';
import { CpuSampler, CpuShare } from './lib/cpu';
import { summariseProfile } from './lib/cpuprofile';
import { measureHashRate } from './lib/hashrate';
import { LoadResult, percentile, runLoad } from './lib/load';
import { HELP, Options, parseOptions, Scenario } from './lib/options';
import { runPaced } from './lib/paced';
import { renderMarkdown } from './lib/report';
import { ADMIN_EMAIL, countSeedEvents, insertBatches, planIds, profileUpdateEvents, SeededIds, seedEmail, seedEvents, SeedPlan } from './lib/seed';
import { AppProcess, assertLoopback, cleanupAll, createDatabase, deleteRedisKeys, onCleanup, postgresVersion, ROOT, run, sleep, startApp } from './lib/stack';

const PASSWORD = 'Bench-password-1!';
const PROJECTION_NAMES = PROJECTIONS.map((p) => p.name);
/** Connections of the refresh scenario: one session each. */
const REFRESH_CONNECTIONS = 16;

export interface ScenarioReport {
  title: string;
  /** Measured load, when the scenario is an HTTP load. */
  load?: LoadResult;
  cpu?: CpuShare | null;
  [k: string]: unknown;
}

export interface Results {
  date: string;
  finished: boolean;
  machine: Record<string, unknown>;
  settings: Record<string, unknown>;
  seed?: Record<string, unknown>;
  projectionOfSeed?: Record<string, unknown>;
  scenarios: Partial<Record<string, ScenarioReport>>;
  cpuProfile?: unknown;
  notes: string[];
  totalSeconds?: number;
}

const log = (msg: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : 'n/a');

const bar = (label: string, total: number, unit: string): SingleBar => {
  const b = new SingleBar(
    { format: ` ${label.padEnd(22)} |{bar}| {percentage}% | {value}/{total} ${unit} | {rate} | ETA {eta_formatted}`, hideCursor: true, noTTYOutput: true, notTTYSchedule: 3000, etaBuffer: 20 },
    Presets.shades_classic,
  );
  b.start(Math.max(total, 1), 0, { rate: '' });
  return b;
};

/** Every rate limit the app knows (read from its config source, so limits added later are covered too). */
function rateLimitEnv(): Record<string, string> {
  const src = fs.readFileSync(path.join(ROOT, 'src', 'config', 'index.ts'), 'utf8');
  const names = new Set(['RATE_LIMIT_LOGIN_PER_IP', 'RATE_LIMIT_REGISTER_PER_IP', 'RATE_LIMIT_REFRESH_PER_IP', 'RATE_LIMIT_EMAIL_PER_IP', 'RATE_LIMIT_EMAIL_PER_ADDRESS']);
  for (const m of src.matchAll(/\brate\(\s*'([A-Z0-9_]+)'/g)) names.add(m[1]);
  const env: Record<string, string> = {};
  for (const n of names) env[n] = '9999999/1s';
  // Lockout counts failures only (every bench login succeeds); at their maximum all the same.
  Object.assign(env, { LOGIN_LOCK_AFTER_FAILURES: '999', LOGIN_LONG_LOCK_AFTER_FAILURES: '1000', LOGIN_MAX_FAILURES_PER_HOUR: '100' });
  return env;
}

function appEnv(o: Options, databaseUrl: string, redisPrefix: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR']) if (process.env[k] !== undefined) env[k] = process.env[k];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-bench-'));
  onCleanup('remove app data dir', async () => fs.rmSync(dataDir, { recursive: true, force: true }));
  Object.assign(env, {
    NODE_ENV: 'production',
    PORT: String(o.port),
    HOST: '127.0.0.1',
    APP_BASE_URL: `http://127.0.0.1:${o.port}`,
    DATABASE_URL: databaseUrl,
    REDIS_URL: o.redisUrl,
    REDIS_PREFIX: redisPrefix,
    DATA_DIR: dataDir,
    JWT_SECRET: randomBytes(48).toString('base64'),
    TOKEN_SECRET: randomBytes(48).toString('base64'),
    LOG_LEVEL: 'warn',
    BCRYPT_COST: String(o.bcryptCost),
    // One API process per core (the primary keeps the projector and workers), as README advises.
    API_PROCESSES: String(apiProcesses()),
    // The run is shorter than this; tokens taken at the start stay valid to the end.
    ACCESS_TOKEN_TTL: '3600',
    ...rateLimitEnv(),
  });
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith('BENCH_APP_') && v !== undefined) env[k.slice('BENCH_APP_'.length)] = v;
  return env;
}

/** API processes the app runs: one per core unless BENCH_APP_API_PROCESSES says otherwise. */
function apiProcesses(): number {
  return Number(process.env.BENCH_APP_API_PROCESSES ?? (os.availableParallelism?.() ?? os.cpus().length));
}

/** The commit measured (and whether the tree had changes), so a result names its code. */
function gitHead(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} (with uncommitted changes)` : head;
  } catch {
    return 'unknown';
  }
}

interface Session {
  email: string;
  userId: string;
  accessToken: string;
  refreshToken: string;
  sessionId: string;
}

async function login(url: string, email: string): Promise<Session> {
  const r = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) });
  const body = (await r.json()) as Record<string, unknown>;
  if (r.status !== 200) throw new Error(`login ${email}: ${r.status} ${JSON.stringify(body)}`);
  return { email, userId: (body.user as { id: string }).id, accessToken: body.accessToken as string, refreshToken: body.refreshToken as string, sessionId: body.sessionId as string };
}

async function loginMany(url: string, emails: string[], concurrency: number): Promise<Session[]> {
  const out: Session[] = new Array(emails.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < emails.length) {
        const i = next++;
        out[i] = await login(url, emails[i]);
      }
    }),
  );
  return out;
}

type Pos = { commit: bigint; prepare: bigint };
const cmpPos = (a: Pos, b: Pos) => (a.commit === b.commit ? (a.prepare === b.prepare ? 0 : a.prepare < b.prepare ? -1 : 1) : a.commit < b.commit ? -1 : 1);

async function headPosition(pool: Pool): Promise<Pos | null> {
  const { rows } = await pool.query<{ c: string; p: string }>(
    `SELECT transaction_id::text AS c, global_position::text AS p FROM es_events
     WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
     ORDER BY transaction_id DESC, global_position DESC LIMIT 1`,
  );
  return rows[0] ? { commit: BigInt(rows[0].c), prepare: BigInt(rows[0].p) } : null;
}

async function checkpoints(pool: Pool): Promise<Map<string, Pos | null>> {
  const { rows } = await pool.query<{ name: string; commit_pos: string | null; prepare_pos: string | null }>(
    'SELECT name, commit_pos::text, prepare_pos::text FROM projection_checkpoints WHERE name = ANY($1)',
    [PROJECTION_NAMES],
  );
  const m = new Map<string, Pos | null>(PROJECTION_NAMES.map((n) => [n, null]));
  for (const r of rows) m.set(r.name, r.commit_pos === null || r.prepare_pos === null ? null : { commit: BigInt(r.commit_pos), prepare: BigInt(r.prepare_pos) });
  return m;
}

/** Events after a position (the backlog of a projection at that checkpoint). */
async function eventsAfter(pool: Pool, p: Pos | null): Promise<number> {
  const { rows } = await pool.query<{ n: string }>('SELECT count(*)::bigint AS n FROM es_events WHERE (transaction_id, global_position) > ($1::text::xid8, $2::bigint)', [
    (p?.commit ?? 0n).toString(),
    (p?.prepare ?? 0n).toString(),
  ]);
  return Number(rows[0].n);
}

/** Waits until every projection's checkpoint reached the head of the log; per projection, when. */
async function waitForProjections(pool: Pool, total: number, timeoutS: number, since: number): Promise<{ seconds: number; caughtUp: boolean; perProjection: Record<string, number | null> }> {
  const b = bar('projecting the seed', total, 'events');
  const done: Record<string, number | null> = Object.fromEntries(PROJECTION_NAMES.map((n) => [n, null]));
  let lastCount = 0;
  try {
    for (;;) {
      const head = await headPosition(pool);
      const cps = await checkpoints(pool);
      const elapsed = (Date.now() - since) / 1000;
      let slowest: Pos | null | undefined;
      for (const [name, p] of cps) {
        const caught = head === null || (p !== null && cmpPos(p, head) >= 0);
        if (caught && done[name] === null) done[name] = elapsed;
        if (!caught && (slowest === undefined || slowest === null || (p !== null && cmpPos(p, slowest) < 0) || p === null)) slowest = p;
      }
      if (Object.values(done).every((v) => v !== null)) {
        b.update(total, { rate: `${fmt(total / elapsed)} ev/s (slowest projection)` });
        return { seconds: elapsed, caughtUp: true, perProjection: done };
      }
      if (elapsed > timeoutS) return { seconds: elapsed, caughtUp: false, perProjection: done };
      if (Date.now() - lastCount > 2000 && slowest !== undefined) {
        lastCount = Date.now();
        const behind = await eventsAfter(pool, slowest);
        const projected = Math.max(0, total - behind);
        b.update(projected, { rate: `${fmt(projected / Math.max(elapsed, 0.001))} ev/s (slowest projection)` });
      }
      await sleep(500);
    }
  } finally {
    b.stop();
  }
}

/** A progress bar over a timed phase. */
async function timed<T>(label: string, seconds: number, work: Promise<T>): Promise<T> {
  const b = new SingleBar({ format: ` ${label.padEnd(34)} |{bar}| {value}/{total} s`, hideCursor: true, noTTYOutput: true, notTTYSchedule: 5000 }, Presets.shades_classic);
  const started = Date.now();
  b.start(Math.ceil(seconds), 0);
  const t = setInterval(() => b.update(Math.min(Math.ceil(seconds), Math.floor((Date.now() - started) / 1000))), 250);
  try {
    return await work;
  } finally {
    clearInterval(t);
    b.update(Math.ceil(seconds));
    b.stop();
  }
}

const summary = (l: LoadResult) =>
  `${fmt(l.rps)} req/s, p50 ${fmt(l.p50, 2)} ms, p99 ${fmt(l.p99, 2)} ms, ${l.ok} ok, ${l.non2xx} non-2xx, ${l.errors} errors, ${l.timeouts} timeouts${l.abandoned ? `, ${l.abandoned} still queued at the end` : ''} (${l.connections} connections${l.targetRate ? `, paced at ${l.targetRate}/s` : ''})`;

async function main(): Promise<void> {
  let o: Options;
  try {
    o = parseOptions(process.argv.slice(2), process.env);
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

  // 2. Database, event store schema, Redis prefix.
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

  // 3. Seed.
  const plan: SeedPlan = { users: o.users, services: 50, permissions: 1000, grantShare: 0.2, password: PASSWORD, bcryptCost: o.bcryptCost };
  const ids: SeededIds = planIds(plan);
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
      method: 'batched INSERT … SELECT FROM json_array_elements (5,000 events per statement, 2 connections), es_streams revisions in the same transaction',
    };
    log(`seeded ${fmt(n)} events in ${fmt(secs, 1)} s (${o.users} users + admin, ${plan.services} services, ${plan.permissions} permissions, grants)`);
  }

  // 4. The app, and the projection of the seed.
  const env = appEnv(o, db.url, redisPrefix);
  log(`starting the app: node dist/main.js all, ${apiProcesses()} API process(es) (production, port ${o.port})`);
  const appStarted = Date.now();
  let app: AppProcess = await startApp(env, o.port);
  log(`listening after ${fmt((Date.now() - appStarted) / 1000, 1)} s; waiting for the projections to catch up with the seed`);
  {
    const w = await waitForProjections(pool, seedTotal, o.projectionTimeout, appStarted);
    results.projectionOfSeed = {
      events: seedTotal,
      seconds: Math.round(w.seconds * 10) / 10,
      eventsPerSecond: Math.round(seedTotal / w.seconds),
      caughtUp: w.caughtUp,
      secondsPerProjection: w.perProjection,
      method: 'from the app process start until every projection checkpoint reached the head of the log (polled every 0.5 s); the projections run in groups in the app primary process, each group reading the log once',
    };
    if (!w.caughtUp) results.notes.push(`The projections had not caught up with the seed after ${o.projectionTimeout} s; the scenarios ran with a backlog.`);
    log(`projections ${w.caughtUp ? 'caught up' : 'NOT caught up'} after ${fmt(w.seconds, 1)} s (${fmt(seedTotal / w.seconds)} events/s)`);
    // A database in steady state has planner statistics (autovacuum); tables the app just filled
    // may not have them yet, and plans made without them are not what production runs.
    await pool.query('ANALYZE');
  }

  const loadScenarios = [...o.only].filter((s) => s !== 'replay');
  let profileDir: string | null = null;
  if (o.cpuProf && loadScenarios.length) {
    profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-bench-prof-'));
    onCleanup('remove profile dir', async () => fs.rmSync(profileDir!, { recursive: true, force: true }));
    log('restarting the app under --cpu-prof for the load scenarios');
    await app.stop();
    app = await startApp(env, o.port, ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]);
  }
  const url = app.url;

  // Lag probe: a deferred trigger stamps each permission row at its projection's commit.
  if (o.only.has('commands') || o.only.has('lag')) {
    await pool.query(`
      CREATE TABLE IF NOT EXISTS bench_visible (permission_id uuid PRIMARY KEY, visible_at timestamptz NOT NULL);
      CREATE OR REPLACE FUNCTION bench_visible_fn() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO bench_visible VALUES (NEW.id, clock_timestamp()) ON CONFLICT DO NOTHING;
        RETURN NULL;
      END $$;
      DROP TRIGGER IF EXISTS bench_visible_trg ON permissions;
      CREATE CONSTRAINT TRIGGER bench_visible_trg AFTER INSERT ON permissions DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION bench_visible_fn();`);
  }
  const lagBetween = async (from: Date, to: Date) => {
    const { rows } = await pool.query<{ ms: number }>(
      `SELECT extract(epoch FROM (v.visible_at - e.created_at)) * 1000 AS ms
       FROM es_events e JOIN bench_visible v ON e.stream_id = 'permission-' || v.permission_id::text
       WHERE e.event_type = 'PermissionCreated' AND e.created_at >= $1 AND e.created_at <= $2`,
      [from, to],
    );
    const sorted = rows.map((r) => Number(r.ms)).sort((a, b) => a - b);
    const { rows: missing } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM es_events e WHERE e.event_type = 'PermissionCreated' AND e.created_at >= $1 AND e.created_at <= $2
       AND NOT EXISTS (SELECT 1 FROM bench_visible v WHERE e.stream_id = 'permission-' || v.permission_id::text)`,
      [from, to],
    );
    return { samples: sorted.length, notVisible: missing[0].n, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN };
  };

  // Sessions for the authenticated scenarios; users are split so no scenario evicts another's sessions.
  const needsSessions = loadScenarios.some((s) => ['me', 'profile', 'storm', 'refresh'].includes(s));
  const needsAdmin = loadScenarios.some((s) => ['users', 'commands', 'lag'].includes(s));
  log('signing in the sessions the scenarios use (bcrypt-bound, a few seconds)');
  const readers = needsSessions ? await loginMany(url, Array.from({ length: 32 }, (_, i) => seedEmail(i)), 4) : [];
  const refreshers = o.only.has('refresh') ? await loginMany(url, Array.from({ length: REFRESH_CONNECTIONS }, (_, i) => seedEmail(100 + i)), 4) : [];
  const admin = needsAdmin ? await login(url, ADMIN_EMAIL) : null;
  let nextLoginUser = 1000;
  const loginRequest = (): autocannon.Request => ({
    method: 'POST',
    path: '/api/auth/login',
    headers: { 'content-type': 'application/json' },
    setupRequest: (req: autocannon.Request) => {
      const i = nextLoginUser++ % o.users;
      return { ...req, body: JSON.stringify({ email: seedEmail(i < 1000 ? i + 1000 : i), password: PASSWORD }) };
    },
  });
  const bearer = (s: Session) => ({ authorization: `Bearer ${s.accessToken}` });

  /** GET at a steady rate (open loop), round-robin over the sessions' tokens. */
  const getPaced = (pathname: string, sessions: Session[], seconds: number, rate: number) =>
    runPaced({ url, rate, durationSeconds: seconds, connections: 32, request: (i) => ({ method: 'GET', path: pathname, headers: bearer(sessions[i % sessions.length]) }) });

  /** A closed-loop GET with each connection using one of the sessions' tokens. */
  const getAs = (pathname: string, sessions: Session[], connections: number, seconds: number, overallRate?: number) =>
    runLoad({
      url,
      connections,
      durationSeconds: seconds,
      overallRate,
      requests: [{ method: 'GET', path: pathname }],
      perConnection: (reqs, i) => {
        reqs[0].headers = bearer(sessions[i % sessions.length]);
      },
    });

  const scenario = async (key: string, title: string, f: (r: ScenarioReport) => Promise<void>) => {
    const r: ScenarioReport = { title };
    results.scenarios[key] = r;
    log(`scenario ${key}: ${title}`);
    await f(r);
    writeResults();
  };
  /** Transactions committed in the bench database (each statement outside a transaction is one). */
  const pgCounters = async () => {
    const { rows } = await pool.query<{ x: string; f: string; i: string; u: string }>(
      'SELECT xact_commit::text AS x, tup_fetched::text AS f, tup_inserted::text AS i, tup_updated::text AS u FROM pg_stat_database WHERE datname = current_database()',
    );
    return { commits: Number(rows[0].x), fetched: Number(rows[0].f), inserted: Number(rows[0].i), updated: Number(rows[0].u) };
  };
  const measure = async (label: string, seconds: number, start: () => { done: Promise<LoadResult> }): Promise<{ load: LoadResult; cpu: CpuShare | null; postgresPerRequest: Record<string, number> }> => {
    const before = await pgCounters();
    const cpu = new CpuSampler(app.child.pid ?? null);
    const load = await timed(label, seconds, start().done);
    const share = cpu.stop();
    // The statistics collector reports at most every 0.5 s or so: let it catch up.
    await sleep(1000);
    const after = await pgCounters();
    const per = (k: keyof typeof before) => Math.round(((after[k] - before[k]) / Math.max(load.requests, 1)) * 10) / 10;
    const postgresPerRequest = { transactions: per('commits'), rowsFetched: per('fetched'), rowsInserted: per('inserted'), rowsUpdated: per('updated') };
    log(`  ${summary(load)}`);
    log(`  PostgreSQL per request: ${postgresPerRequest.transactions} transactions/statements, ${postgresPerRequest.rowsFetched} rows fetched, ${postgresPerRequest.rowsInserted} inserted, ${postgresPerRequest.rowsUpdated} updated`);
    if (load.sampleErrors.length) log(`  non-2xx samples: ${load.sampleErrors.join(' | ')}`);
    return { load, cpu: share, postgresPerRequest };
  };
  const warm = async (seconds: number, start: () => { done: Promise<LoadResult> }) => {
    if (seconds > 0) await timed('warm-up (not counted)', seconds, start().done);
  };

  const has = (s: Scenario) => o.only.has(s);

  if (has('login')) {
    await scenario('login', 'POST /api/auth/login (distinct seeded users, round-robin)', async (r) => {
      log(`  raw bcrypt verify rate: ${os.availableParallelism?.() ?? os.cpus().length} worker threads, cost ${o.bcryptCost}, ${o.hashSeconds} s`);
      const hash = await measureHashRate(PASSWORD, ids.passwordHash, o.hashSeconds * 1000);
      log(`  hash-bound limit: ${fmt(hash.perSecond, 1)} verifies/s (${fmt(hash.perThreadPerSecond, 1)} per thread)`);
      const connections = 8;
      const m = await measure('login', o.duration, () => runLoad({ url, connections, durationSeconds: o.duration, requests: [loginRequest()] }));
      Object.assign(r, m, { hashRate: hash, fractionOfHashLimit: m.load.rps / hash.perSecond });
      log(`  login at ${fmt((100 * m.load.rps) / hash.perSecond, 1)}% of the hash-bound limit`);
    });
  }

  if (has('refresh')) {
    await scenario('refresh', 'POST /api/auth/token (each connection owns a session and always presents its latest refresh token)', async (r) => {
      const connections = REFRESH_CONNECTIONS;
      let broken = 0;
      const m = await measure('refresh', o.duration, () =>
        runLoad({
          url,
          connections,
          durationSeconds: o.duration,
          requests: [{ method: 'POST', path: '/api/auth/token', headers: { 'content-type': 'application/json' } }],
          perConnection: (reqs, i) => {
            const session = refreshers[i % refreshers.length];
            const inner = reqs[0].onResponse;
            reqs[0].setupRequest = (req) => ({ ...req, body: JSON.stringify({ refreshToken: session.refreshToken }) });
            reqs[0].onResponse = (status, body, context, headers) => {
              if (status === 200) session.refreshToken = (JSON.parse(body) as { refreshToken: string }).refreshToken;
              else broken++;
              if (typeof inner === 'function') inner(status, body, context, headers);
            };
          },
        }),
      );
      Object.assign(r, m, { sessions: connections, chainBreaks: broken });
    });
  }

  if (has('me')) {
    await scenario('me', 'GET /api/auth/me (Bearer, 32 sessions spread over the connections)', async (r) => {
      const connections = 16;
      await warm(o.warmup, () => getAs('/api/auth/me', readers, connections, o.warmup));
      Object.assign(r, await measure('me', o.duration, () => getAs('/api/auth/me', readers, connections, o.duration)));
    });
  }

  if (has('profile')) {
    await scenario('profile', 'GET /api/profile (Bearer, 32 sessions spread over the connections)', async (r) => {
      const connections = 16;
      await warm(o.warmup, () => getAs('/api/profile', readers, connections, o.warmup));
      Object.assign(r, await measure('profile', o.duration, () => getAs('/api/profile', readers, connections, o.duration)));
    });
  }

  if (has('users')) {
    const adminSession = [admin!];
    for (const [key, q, title] of [
      ['usersSearch', '/api/users?role=viewer&sort=-createdAt&q=user12', `GET /api/users?role=viewer&sort=-createdAt&q=user12 (admin, over ${fmt(o.users)} users)`],
      ['usersList', '/api/users?role=viewer&sort=-createdAt', `GET /api/users?role=viewer&sort=-createdAt (admin, no q)`],
    ] as const) {
      await scenario(key, title, async (r) => {
        const connections = 8;
        const probe = await fetch(`${url}${q}`, { headers: bearer(admin!) });
        const body = (await probe.json()) as { meta?: { total: number }; data?: unknown[] };
        r.matches = body.meta?.total;
        r.pageSize = body.data?.length;
        log(`  ${q} → ${probe.status}, total ${body.meta?.total}, page of ${body.data?.length}`);
        await warm(o.warmup, () => getAs(q, adminSession, connections, o.warmup));
        Object.assign(r, await measure(key, o.duration, () => getAs(q, adminSession, connections, o.duration)));
      });
    }
  }

  const runId = randomBytes(3).toString('hex');
  let permissionCounter = 0;
  const createPermissionRequest = (): autocannon.Request => ({
    method: 'POST',
    path: '/api/permissions',
    headers: { 'content-type': 'application/json', ...bearer(admin!) },
    setupRequest: (req: autocannon.Request) => {
      const n = permissionCounter++;
      const serviceIds = [ids.serviceIds[n % ids.serviceIds.length]];
      return { ...req, body: JSON.stringify({ name: `bench${runId}.p${n}:read`, serviceIds }) };
    },
  });

  if (has('commands')) {
    await scenario('commands', 'POST /api/permissions (CreatePermission as admin, unique names; answers after read-your-writes)', async (r) => {
      const connections = 16;
      const from = new Date();
      const m = await measure('commands', o.duration, () => runLoad({ url, connections, durationSeconds: o.duration, requests: [createPermissionRequest()] }));
      await sleep(500);
      const lag = await lagBetween(from, new Date());
      Object.assign(r, m, { projectionLagMs: lag });
      log(`  projection lag (append → row visible): p50 ${fmt(lag.p50, 1)} ms, p99 ${fmt(lag.p99, 1)} ms over ${lag.samples} commands`);
    });
  }

  if (has('lag')) {
    await scenario('lag', `Projection lag of CreatePermission at a steady ${o.lagRate} commands/s (open loop)`, async (r) => {
      const connections = 64;
      const from = new Date();
      const m = await measure(`commands at ${o.lagRate}/s`, o.duration, () =>
        runPaced({
          url,
          rate: o.lagRate,
          durationSeconds: o.duration,
          connections,
          request: () => {
            const n = permissionCounter++;
            return {
              method: 'POST',
              path: '/api/permissions',
              headers: { 'content-type': 'application/json', ...bearer(admin!) },
              body: JSON.stringify({ name: `bench${runId}.p${n}:read`, serviceIds: [ids.serviceIds[n % ids.serviceIds.length]] }),
            };
          },
        }),
      );
      await sleep(500);
      const lag = await lagBetween(from, new Date());
      Object.assign(r, m, { targetRate: o.lagRate, projectionLagMs: lag });
      log(`  achieved ${fmt(m.load.rps)} commands/s; lag p50 ${fmt(lag.p50, 1)} ms, p99 ${fmt(lag.p99, 1)} ms (${lag.samples} samples, ${lag.notVisible} not visible)`);
    });
  }

  if (has('storm')) {
    await scenario('storm', `GET /api/profile at a steady ${o.stormProfileRate}/s (open loop): idle, then during a login storm (autocannon, 8 connections)`, async (r) => {
      await warm(o.warmup, () => getPaced('/api/profile', readers, o.warmup, o.stormProfileRate));
      const idle = await measure('profile (idle)', o.duration, () => getPaced('/api/profile', readers, o.duration, o.stormProfileRate));
      const cpu = new CpuSampler(app.child.pid ?? null);
      const storm = runLoad({ url, connections: 8, durationSeconds: o.duration, requests: [loginRequest()] });
      const during = await timed('profile during login storm', o.duration, getPaced('/api/profile', readers, o.duration, o.stormProfileRate).done);
      const logins = await storm.done;
      const share = cpu.stop();
      // Idle again after the storm: one stray pause in a 10 s idle run would flatter the ratio,
      // so the storm is compared with the lower (stricter) of the two idle p99s.
      const after = await measure('profile (idle, after)', o.duration, () => getPaced('/api/profile', readers, o.duration, o.stormProfileRate));
      const baseline = after.load.p99 < idle.load.p99 ? after : idle;
      log(`  idle:   ${summary(idle.load)}`);
      log(`  storm:  ${summary(during)}`);
      log(`  logins: ${summary(logins)}`);
      log(`  idle after: ${summary(after.load)}`);
      Object.assign(r, { idle: baseline.load, idleBefore: idle.load, idleAfter: after.load, idleCpu: idle.cpu, during, logins, cpu: share, ratioP99: during.p99 / baseline.load.p99 });
    });
  }

  if (loadScenarios.length && profileDir) {
    await app.stop();
    // One profile per process (the primary, and each forked API process): all kept; the
    // primary's (the oldest pid) summarised here.
    const files = fs
      .readdirSync(profileDir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort((a, b) => Number(a.split('.')[3]) - Number(b.split('.')[3]));
    files.forEach((f, i) => fs.copyFileSync(path.join(profileDir!, f), path.join(outDir, i === 0 ? 'profile.cpuprofile' : `profile-api-${i}.cpuprofile`)));
    if (files.length) {
      const s = summariseProfile(path.join(profileDir, files[0]), ROOT, 30);
      const keep = path.join(outDir, 'profile.cpuprofile');
      results.cpuProfile = { ...s, file: path.relative(ROOT, keep), others: files.length - 1, scenarios: loadScenarios };
      log(`cpu profiles: ${path.relative(ROOT, keep)} (primary)${files.length > 1 ? ` and ${files.length - 1} API process profile(s) beside it` : ''}; top self time of the primary:`);
      for (const f of s.topFunctions.slice(0, 12)) log(`  ${String(f.share).padStart(5)}%  ${f.name}  ${f.where}`);
    }
  }

  // Replay.
  if (has('replay')) {
    await scenario('replay', `Replay (rebuild) of every projection from a log of ≥ ${fmt(o.replayEvents)} events`, async (r) => {
      await app.stop();
      const { rows } = await pool.query<{ n: string }>('SELECT count(*)::bigint AS n FROM es_events');
      const have = Number(rows[0].n);
      const extra = Math.max(0, o.replayEvents - have);
      if (extra > 0) {
        // Users that logged in during the scenarios have later revisions: edits go after them.
        const { rows: revs } = await pool.query<{ stream_id: string; revision: string }>("SELECT stream_id, revision::text FROM es_streams WHERE stream_id LIKE 'user-%' AND revision > 0");
        const base = new Map(revs.map((x) => [x.stream_id.slice('user-'.length), Number(x.revision)]));
        const b = bar('seeding profile edits', extra, 'events');
        const t = Date.now();
        let done = 0;
        await insertBatches(pool, profileUpdateEvents(ids, extra, 5000, (userId) => base.get(userId) ?? 0), 2, (k) => {
          done += k;
          b.update(done, { rate: `${fmt(done / ((Date.now() - t) / 1000))} ev/s` });
        });
        b.stop();
        await pool.query('ANALYZE');
        log(`added ${fmt(done)} ProfileUpdated events in ${fmt((Date.now() - t) / 1000, 1)} s`);
      }
      const total = Number((await pool.query<{ n: string }>('SELECT count(*)::bigint AS n FROM es_events')).rows[0].n);
      const res = await replayOne(db.url, 'all', total, o.replaySeconds);
      Object.assign(r, {
        logEvents: total,
        projections: PROJECTION_NAMES.length,
        ...res,
        method: `every projection rebuilt in one pass over the log with the built app's replayProjections (what npm run projections:replay runs: batches of 5,000 read once, each projection through them at its own pace in its own transactions, reading at most four batches ahead of the slowest), app stopped; ${o.replaySeconds ? `capped at ${o.replaySeconds} s; if stopped there, the full pass is projected from the measured rate` : 'no cap'}`,
      });
      log(`  all ${PROJECTION_NAMES.length} projections in one pass: ${res.finished ? 'rebuilt' : 'stopped at the cap'}: ${fmt(res.processed)} events in ${fmt(res.seconds, 1)} s = ${fmt(res.eventsPerSecond)} events/s${res.finished ? '' : `, full pass projected at ${fmt(res.projectedSeconds, 0)} s`}`);
    });
  }

  interference(results);
  results.machine.loadAverageAtEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
  results.finished = true;
  writeResults();
  log(`done in ${fmt((Date.now() - startedAt) / 1000, 0)} s; results in ${path.relative(process.cwd(), path.join(outDir, 'results.md'))}`);
}

/** Notes the scenarios during which other processes on the machine took CPU from the bench. */
function interference(results: Results): void {
  const busy = Object.entries(results.scenarios).flatMap(([k, s]) => {
    const c = s?.cpu as CpuShare | null | undefined;
    return c && c.other >= 0.25 ? [`${k} ${fmt(c.other, 2)}`] : [];
  });
  if (busy.length) {
    results.notes.push(
      `Other processes on this machine (not the app, PostgreSQL, Redis or the bench) used CPU during some scenarios (average cores: ${busy.join(', ')} of ${os.cpus().length}); those numbers are lower than a quiet machine would give.`,
    );
  }
}

/** Replays one projection in a child process (the built app's code), stopped at the cap. */
function replayOne(databaseUrl: string, name: string, logEvents: number, capSeconds: number): Promise<{ processed: number; seconds: number; eventsPerSecond: number; finished: boolean; projectedSeconds: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'lib', 'replay-child.ts'), name], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: databaseUrl, NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onCleanup(`stop replay of ${name}`, async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const b = bar(`replay ${name}`, logEvents, 'events');
    let last = { processed: 0, ms: 0 };
    let finished = false;
    let err = '';
    let buf = '';
    child.stdout.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const m = JSON.parse(line) as { type: string; processed: number; ms: number };
          last = { processed: m.processed, ms: m.ms };
          if (m.type === 'done') finished = true;
          b.update(Math.min(m.processed, logEvents), { rate: `${fmt(m.processed / (m.ms / 1000))} ev/s` });
        } catch {
          // not a progress line
        }
      }
    });
    child.stderr.on('data', (c: Buffer) => {
      err = (err + c.toString('utf8')).slice(-4000);
    });
    const cap = capSeconds > 0 ? setTimeout(() => child.kill('SIGKILL'), capSeconds * 1000) : null;
    child.on('exit', (code, signal) => {
      if (cap) clearTimeout(cap);
      b.stop();
      if (!finished && signal !== 'SIGKILL') {
        reject(new Error(`replay of ${name} failed (${code ?? signal}):\n${err}`));
        return;
      }
      const seconds = last.ms / 1000;
      const eventsPerSecond = last.processed / Math.max(seconds, 0.001);
      resolve({ processed: last.processed, seconds, eventsPerSecond, finished, projectedSeconds: finished ? seconds : logEvents / Math.max(eventsPerSecond, 0.001) });
    });
  });
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
