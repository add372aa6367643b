/** Command-line and environment options of `npm run bench` (node:util parseArgs). */
import { parseArgs } from 'node:util';
import { HELD_USERS } from './accounts';

export const SCENARIOS = ['login', 'refresh', 'me', 'profile', 'users', 'commands', 'lag', 'storm', 'replay'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface Options {
  help: boolean;
  only: Set<Scenario>;
  users: number;
  replayEvents: number;
  /** Seconds per load scenario. */
  duration: number;
  /** Seconds of untimed warm-up before read scenarios. */
  warmup: number;
  /** Per-projection time cap of the replay, seconds (0: no cap). */
  replaySeconds: number;
  hashSeconds: number;
  bcryptCost: number;
  port: number;
  databaseUrl: string;
  redisUrl: string;
  build: boolean;
  cpuProf: boolean;
  /** Measure the HTTP and commit ceilings the chosen scenarios are compared with. */
  ceilings: boolean;
  /** Run the plain autocannon CLI after each read scenario and record its figure beside the bench's. */
  verifyWithAutocannon: boolean;
  /** Keep the stack up after the sign-ins, print how to reach it, wait for Enter before the scenarios. */
  hold: boolean;
  /** ACCESS_TOKEN_TTL of the client in the log growth per active user-day (a refresh every TTL). */
  userDayTtl: number;
  /** Paced rate of GET /api/profile in the idle and login-storm runs. */
  stormProfileRate: number;
  lagRate: number;
  /** Seconds the projection of the seed may take before the bench goes on without it. */
  projectionTimeout: number;
  out: string;
}

export const HELP = `Usage: npm run bench [-- OPTIONS]

Builds the app, starts it in production mode against a fresh database (iam_bench_<random>) on
the machine's PostgreSQL and a unique Redis key prefix, seeds users, services, permissions and
grants straight into the event store, waits for the projections, measures the ceilings the
scenarios are bound by (a bare Koa app, a BEGIN; INSERT; COMMIT loop, the bcrypt verify rate),
then drives load from a separate load process on this machine (127.0.0.1 only). Writes
bench/results.json and bench/results.md. Everything it creates (app process, database, Redis
keys) is removed at the end, on failure and on Ctrl-C. With the defaults a run takes about
9-11 minutes on a 2-core machine.

Options (each also settable by the environment variable shown):
  --only LIST             scenarios to run, comma-separated (default: all):
                            login     POST /api/auth/login, round-robin over seeded users, and the
                                      machine's raw bcrypt verify rate (worker thread per core)
                            refresh   POST /api/auth/token, each connection chaining its session's tokens
                            me        GET /api/auth/me (Bearer)
                            profile   GET /api/profile (Bearer)
                            users     GET /api/users?role=viewer&sort=-createdAt&q=user12, and without q
                            commands  POST /api/permissions (CreatePermission), as fast as it goes
                            lag       projection lag of CreatePermission at a paced rate (--lag-rate)
                            storm     GET /api/profile p99 at a paced rate, idle and during a login storm
                            replay    rebuild every projection, in one pass, from a log of --replay-events events
                          (BENCH_ONLY)
  --users N               seeded users, at least ${2 * HELD_USERS} (BENCH_USERS, default 100000)
  --replay-events N       events in the log for the replay (BENCH_REPLAY_EVENTS, default 1000000);
                          profile edits of the seeded users are added to reach it
  --duration S            seconds per load scenario and per ceiling (BENCH_DURATION, default 10)
  --warmup S              untimed warm-up before read scenarios and the HTTP ceiling (BENCH_WARMUP, default 2)
  --replay-seconds S      time cap of the replay (all projections in one pass); if it has not
                          finished, the full pass is projected from its measured rate
                          (BENCH_REPLAY_SECONDS, default 120; 0 = no cap)
  --hash-seconds S        duration of the raw bcrypt measurement (BENCH_HASH_SECONDS, default 5)
  --bcrypt-cost N         BCRYPT_COST of the app and the seed (BENCH_BCRYPT_COST, default 10)
  --lag-rate N            commands/s of the lag scenario (BENCH_LAG_RATE, default 500)
  --storm-profile-rate N  paced GET /api/profile rate, idle and during the storm
                          (BENCH_STORM_PROFILE_RATE, default 200)
  --user-day-ttl S        access-token lifetime of the client in the log growth per active
                          user-day: its login and a refresh every S seconds for a day
                          (BENCH_USER_DAY_TTL, default the app's ACCESS_TOKEN_TTL default)
  --port N                port of the app on 127.0.0.1; the bare Koa app of the HTTP ceiling
                          takes the next one (BENCH_PORT, default 3987)
  --database-url URL      PostgreSQL server to create the bench database on
                          (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres)
  --redis-url URL         Redis (REDIS_URL, default redis://127.0.0.1:6379)
  --no-build              use the existing dist/ instead of running npm run build
  --cpu-prof              run the app under node --cpu-prof for the load scenarios and
                          summarise the top self-time functions (numbers then include profiler cost)
  --no-ceilings           skip the HTTP and commit ceilings (no ratios for the scenarios bound by them)
  --verify-with-autocannon
                          after each read scenario (me, profile, users) run the plain autocannon CLI
                          with the same connections and duration against the same app, and record
                          its figure beside the bench's and whether they agree (within ±15%)
  --hold                  once the stack is up and the sessions are signed in, print the app's URL
                          and where a token is, and wait for Enter before the scenarios (Ctrl-C stops
                          and cleans up): point any load tool at the same app process
  --out DIR               where results.json / results.md go (BENCH_OUT, default bench/)
  -h, --help              this help

BENCH_PROJECTION_TIMEOUT (seconds, default 420) is how long the projection of the seed may take
before the bench goes on without it.

Any BENCH_APP_<NAME>=value in the environment is passed to the app as <NAME>=value
(e.g. BENCH_APP_DB_POOL_MAX=20) to try a setting. Rate limits are always raised out of reach.

Examples:
  npm run bench
  npm run bench -- --only login,me --duration 5
  npm run bench -- --only me,profile --verify-with-autocannon
  npm run bench -- --users 20000 --only replay --replay-events 300000 --replay-seconds 0`;

const num = (name: string, v: string | undefined, dflt: number, min = 0): number => {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number ≥ ${min}, got "${v}"`);
  return n;
};

const VALUE_OPTIONS = [
  'only',
  'users',
  'replay-events',
  'duration',
  'warmup',
  'replay-seconds',
  'hash-seconds',
  'bcrypt-cost',
  'lag-rate',
  'storm-profile-rate',
  'user-day-ttl',
  'port',
  'database-url',
  'redis-url',
  'out',
] as const;
const FLAGS = ['no-build', 'cpu-prof', 'no-ceilings', 'verify-with-autocannon', 'hold'] as const;

/** `defaultUserDayTtl`: the app's own ACCESS_TOKEN_TTL default (read by the caller from its config). */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv, defaultUserDayTtl: number): Options {
  let values: Partial<Record<(typeof VALUE_OPTIONS)[number], string> & Record<(typeof FLAGS)[number] | 'help', boolean>>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(VALUE_OPTIONS.map((k) => [k, { type: 'string' as const }])),
        ...Object.fromEntries(FLAGS.map((k) => [k, { type: 'boolean' as const }])),
      },
    }));
  } catch (e) {
    throw new Error(`${(e as Error).message} (see --help)`);
  }
  const onlyRaw = values.only ?? env.BENCH_ONLY;
  const only = new Set<Scenario>();
  if (onlyRaw) {
    for (const name of onlyRaw
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)) {
      if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`unknown scenario "${name}"; one of ${SCENARIOS.join(', ')}`);
      only.add(name as Scenario);
    }
  } else SCENARIOS.forEach((x) => only.add(x));
  const bcryptCost = num('--bcrypt-cost', values['bcrypt-cost'] ?? env.BENCH_BCRYPT_COST, 10, 4);
  if (bcryptCost > 15) throw new Error('--bcrypt-cost must be 4-15 (the app accepts no more)');
  return {
    help: values.help === true,
    only,
    users: Math.floor(num('--users', values.users ?? env.BENCH_USERS, 100_000, 2 * HELD_USERS)),
    replayEvents: Math.floor(num('--replay-events', values['replay-events'] ?? env.BENCH_REPLAY_EVENTS, 1_000_000, 0)),
    duration: num('--duration', values.duration ?? env.BENCH_DURATION, 10, 1),
    warmup: num('--warmup', values.warmup ?? env.BENCH_WARMUP, 2, 0),
    replaySeconds: num('--replay-seconds', values['replay-seconds'] ?? env.BENCH_REPLAY_SECONDS, 120, 0),
    hashSeconds: num('--hash-seconds', values['hash-seconds'] ?? env.BENCH_HASH_SECONDS, 5, 1),
    bcryptCost,
    port: Math.floor(num('--port', values.port ?? env.BENCH_PORT, 3987, 1)),
    databaseUrl: values['database-url'] ?? env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: values['redis-url'] ?? env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    build: values['no-build'] !== true,
    cpuProf: values['cpu-prof'] === true,
    ceilings: values['no-ceilings'] !== true,
    verifyWithAutocannon: values['verify-with-autocannon'] === true,
    hold: values.hold === true,
    stormProfileRate: num('--storm-profile-rate', values['storm-profile-rate'] ?? env.BENCH_STORM_PROFILE_RATE, 200, 1),
    lagRate: num('--lag-rate', values['lag-rate'] ?? env.BENCH_LAG_RATE, 500, 1),
    userDayTtl: num('--user-day-ttl', values['user-day-ttl'] ?? env.BENCH_USER_DAY_TTL, defaultUserDayTtl, 1),
    projectionTimeout: num('BENCH_PROJECTION_TIMEOUT', env.BENCH_PROJECTION_TIMEOUT, 420, 10),
    out: values.out ?? env.BENCH_OUT ?? '',
  };
}
