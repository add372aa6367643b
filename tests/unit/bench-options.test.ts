import { HELP, Options, parseOptions, SCENARIOS } from '../../bench/lib/options';

const TTL = 900;
const parse = (argv: string[], env: NodeJS.ProcessEnv = {}): Options => parseOptions(argv, env, TTL);
const failure = (argv: string[], env: NodeJS.ProcessEnv = {}): string => {
  try {
    parse(argv, env);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`accepted ${argv.join(' ')}`);
};

/** Every option that takes a value: its flag, its environment variable, a value, where it lands. */
const VALUES: [flag: string, env: string | null, value: string, key: keyof Options, parsed: unknown][] = [
  ['--users', 'BENCH_USERS', '3000', 'users', 3000],
  ['--replay-events', 'BENCH_REPLAY_EVENTS', '20000', 'replayEvents', 20000],
  ['--duration', 'BENCH_DURATION', '2', 'duration', 2],
  ['--warmup', 'BENCH_WARMUP', '0', 'warmup', 0],
  ['--replay-seconds', 'BENCH_REPLAY_SECONDS', '0', 'replaySeconds', 0],
  ['--hash-seconds', 'BENCH_HASH_SECONDS', '3', 'hashSeconds', 3],
  ['--bcrypt-cost', 'BENCH_BCRYPT_COST', '4', 'bcryptCost', 4],
  ['--lag-rate', 'BENCH_LAG_RATE', '100', 'lagRate', 100],
  ['--storm-profile-rate', 'BENCH_STORM_PROFILE_RATE', '50', 'stormProfileRate', 50],
  ['--user-day-ttl', 'BENCH_USER_DAY_TTL', '300', 'userDayTtl', 300],
  ['--port', 'BENCH_PORT', '4100', 'port', 4100],
  ['--database-url', 'BENCH_DATABASE_URL', 'postgres://postgres@127.0.0.1:5433/x', 'databaseUrl', 'postgres://postgres@127.0.0.1:5433/x'],
  ['--redis-url', 'REDIS_URL', 'redis://127.0.0.1:6422', 'redisUrl', 'redis://127.0.0.1:6422'],
  ['--out', 'BENCH_OUT', '/tmp/b', 'out', '/tmp/b'],
  ['--only', 'BENCH_ONLY', 'me,refresh', 'only', new Set(['me', 'refresh'])],
];

const FLAGS: [flag: string, key: keyof Options, set: unknown][] = [
  ['--no-build', 'build', false],
  ['--cpu-prof', 'cpuProf', true],
  ['--no-ceilings', 'ceilings', false],
  ['--verify-with-autocannon', 'verifyWithAutocannon', true],
  ['--hold', 'hold', true],
  ['--help', 'help', true],
  ['-h', 'help', true],
];

describe('bench options', () => {
  it('has the documented defaults', () => {
    expect(parse([])).toEqual({
      help: false,
      only: new Set(SCENARIOS),
      users: 100_000,
      replayEvents: 1_000_000,
      duration: 10,
      warmup: 2,
      replaySeconds: 120,
      hashSeconds: 5,
      bcryptCost: 10,
      port: 3987,
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/postgres',
      redisUrl: 'redis://127.0.0.1:6379',
      build: true,
      cpuProf: false,
      ceilings: true,
      verifyWithAutocannon: false,
      hold: false,
      stormProfileRate: 200,
      lagRate: 500,
      userDayTtl: TTL,
      projectionTimeout: 420,
      out: '',
    });
  });

  it.each(VALUES)('%s takes a value as the next argument, after "=", or from %s', (flag, env, value, key, parsed) => {
    expect(parse([flag, value])[key]).toEqual(parsed);
    expect(parse([`${flag}=${value}`])[key]).toEqual(parsed);
    if (env) expect(parse([], { [env]: value })[key]).toEqual(parsed);
  });

  it('prefers the command line to the environment', () => {
    expect(parse(['--duration', '3'], { BENCH_DURATION: '7' }).duration).toBe(3);
  });

  it('reads the projection timeout from BENCH_PROJECTION_TIMEOUT', () => {
    expect(parse([], { BENCH_PROJECTION_TIMEOUT: '60' }).projectionTimeout).toBe(60);
  });

  it.each(FLAGS)('%s is a flag', (flag, key, set) => {
    expect(parse([flag])[key]).toBe(set);
  });

  it('documents every option in --help', () => {
    for (const [flag, env] of VALUES) {
      expect(HELP).toContain(flag);
      if (env) expect(HELP).toContain(env);
    }
    for (const [flag] of FLAGS) expect(HELP).toContain(flag);
    expect(HELP).toContain('BENCH_PROJECTION_TIMEOUT');
    for (const s of SCENARIOS) expect(HELP).toMatch(new RegExp(`^ +${s} `, 'm'));
  });

  it('refuses unknown options, stray arguments and missing values, pointing at --help', () => {
    expect(failure(['--dration', '5'])).toMatch(/--dration.*\(see --help\)/);
    expect(failure(['me'])).toMatch(/me.*\(see --help\)/);
    expect(failure(['--duration'])).toMatch(/--duration.*\(see --help\)/);
    expect(failure(['--hold=yes'])).toMatch(/--hold.*\(see --help\)/);
  });

  it('refuses bad values with the option and the value', () => {
    expect(failure(['--only', 'me,everything'])).toBe(`unknown scenario "everything"; one of ${SCENARIOS.join(', ')}`);
    expect(failure(['--duration', 'soon'])).toBe('--duration must be a number ≥ 1, got "soon"');
    expect(failure(['--users', '1999'])).toBe('--users must be a number ≥ 2000, got "1999"');
    expect(failure(['--bcrypt-cost', '16'])).toBe('--bcrypt-cost must be 4-15 (the app accepts no more)');
    expect(failure([], { BENCH_LAG_RATE: '0' })).toBe('--lag-rate must be a number ≥ 1, got "0"');
  });
});
