import { renderMarkdown } from '../../bench/lib/report';
import {
  agreement,
  disturbed,
  growthPerRequest,
  LoadResult,
  ratioToCeiling,
  Results,
  ScenarioReport,
  userDay,
} from '../../bench/lib/results';

const load = (rps: number, connections: number): LoadResult => ({
  rps,
  requests: rps * 10,
  ok: rps * 10,
  non2xx: 0,
  errors: 0,
  timeouts: 0,
  statuses: { 200: rps * 10 },
  p50: 1,
  p90: 2,
  p99: 3,
  max: 4,
  mean: 1,
  durationSeconds: 10,
  connections,
  sampleErrors: [],
});

const hashRate = { threads: 2, compares: 200, seconds: 5, perSecond: 20, perThreadPerSecond: 10 };

const scenarios = (): Results['scenarios'] => ({
  httpCeiling16: { title: 'HTTP ceiling, 16 connections', load: load(20_000, 16) },
  httpCeiling8: { title: 'HTTP ceiling, 8 connections', load: load(25_000, 8) },
  commitCeiling: { title: 'Commit ceiling', load: load(10_000, 16) },
  me: { title: 'me', load: load(5_000, 16) },
  usersList: { title: 'users', load: load(1_000, 8) },
  refresh: { title: 'refresh', load: load(500, 16) },
  login: { title: 'login', load: load(15, 8), hashRate },
});

const growth = (requests: number, events: number, eventRowBytes: number, eventLogBytes: number) =>
  growthPerRequest({ requests, events, eventRowBytes, eventLogBytes, readModelBytes: 0 });

describe('ratios to the ceilings', () => {
  it('compares reads with the HTTP ceiling of their connection count, appends with the commit ceiling, login with the hash limit', () => {
    const s = scenarios();
    expect(ratioToCeiling('me', s.me!, s)).toEqual({
      kind: 'http',
      from: 'httpCeiling16',
      figure: 5_000,
      ceiling: 20_000,
      ratio: 0.25,
      busyMachine: false,
    });
    expect(ratioToCeiling('usersList', s.usersList!, s)).toEqual({
      kind: 'http',
      from: 'httpCeiling8',
      figure: 1_000,
      ceiling: 25_000,
      ratio: 0.04,
      busyMachine: false,
    });
    expect(ratioToCeiling('refresh', s.refresh!, s)).toEqual({
      kind: 'commit',
      from: 'commitCeiling',
      figure: 500,
      ceiling: 10_000,
      ratio: 0.05,
      busyMachine: false,
    });
    expect(ratioToCeiling('login', s.login!, s)).toEqual({
      kind: 'hash',
      from: 'login',
      figure: 15,
      ceiling: 20,
      ratio: 0.75,
      busyMachine: false,
    });
  });

  it('marks a ratio when other processes took CPU during the scenario or during its ceiling', () => {
    const busy = { app: 1, appPrimary: 0, postgres: 0, redis: 0, loadGenerator: 0.4, other: 0.9, idle: 0, cores: 2 };
    const s = scenarios();
    s.httpCeiling16!.cpu = busy;
    expect(ratioToCeiling('me', s.me!, s)?.busyMachine).toBe(true);
    expect(ratioToCeiling('refresh', s.refresh!, s)?.busyMachine).toBe(false);
    s.refresh!.cpu = busy;
    expect(ratioToCeiling('refresh', s.refresh!, s)?.busyMachine).toBe(true);
    s.me!.ceiling = ratioToCeiling('me', s.me!, s)!;
    const md = renderMarkdown({
      date: '2026-12-01T12:00:00.000Z',
      finished: true,
      machine: { loadAverageAtStart: [0, 0, 0] },
      settings: {},
      scenarios: s,
      notes: [],
    });
    expect(md).toMatch(/\| GET \/api\/auth\/me, 16 conn\. \| 5,000 req\/s \| 20,000\/s \(HTTP, 16 conn\.\) \| 25\.0% \(machine busy\) \|/);
  });

  it('gives no ratio when the ceiling was not measured, or for a scenario no ceiling bounds', () => {
    const s = scenarios();
    delete s.commitCeiling;
    expect(ratioToCeiling('refresh', s.refresh!, s)).toBeNull();
    expect(ratioToCeiling('me', { title: 'me at 32 connections', load: load(5_000, 32) }, s)).toBeNull();
    expect(ratioToCeiling('storm', { title: 'storm', load: load(200, 32) }, s)).toBeNull();
  });
});

describe('agreement with the plain autocannon CLI', () => {
  it('agrees within ±15% of the CLI figure, and not beyond', () => {
    expect(agreement(8_600, 10_000)).toEqual({ ratio: 0.86, agrees: true });
    expect(agreement(11_400, 10_000)).toEqual({ ratio: 1.14, agrees: true });
    expect(agreement(8_400, 10_000).agrees).toBe(false);
    expect(agreement(11_600, 10_000).agrees).toBe(false);
    expect(agreement(4_400, 17_000).agrees).toBe(false);
  });
});

describe('log growth per active user-day', () => {
  it('is one login and a refresh every access-token lifetime, per request of each', () => {
    const login = growth(10, 30, 17_000, 20_000);
    const refresh = growth(1_000, 1_000, 520_000, 800_000);
    expect(refresh.perRequest).toEqual({ events: 1, eventRowBytes: 520, eventLogBytes: 800, readModelBytes: 0 });
    expect(userDay(login, refresh, 900, 'the login scenario')).toEqual({
      accessTokenTtlSeconds: 900,
      refreshesPerDay: 96,
      events: 3 + 96,
      eventRowBytes: 1_700 + 96 * 520,
      eventLogBytes: 2_000 + 96 * 800,
      loginFrom: 'the login scenario',
    });
    expect(userDay(login, refresh, 3_600, 'x').refreshesPerDay).toBe(24);
  });
});

describe('results.md', () => {
  const results = (extra: Partial<Record<string, ScenarioReport>> = {}): Results => {
    const s = { ...scenarios(), ...extra };
    for (const [k, r] of Object.entries(s)) {
      const c = ratioToCeiling(k, r!, s);
      if (c) r!.ceiling = c;
    }
    return {
      date: '2026-12-01T12:00:00.000Z',
      finished: true,
      machine: { cores: 2, model: 'cpu', memoryGiB: 8, os: 'Linux', node: 'v20', loadAverageAtStart: [0, 0, 0] },
      settings: { users: 3000, bcryptCost: 10, durationSeconds: 10, warmupSeconds: 2, apiProcesses: 2, commit: 'abc1234' },
      scenarios: s,
      userDay: userDay(growth(10, 30, 17_000, 20_000), growth(1_000, 1_000, 520_000, 800_000), 900, 'the login scenario'),
      notes: [],
    };
  };
  const row = (md: string, start: string) => md.split('\n').find((l) => l.startsWith(start)) ?? '';

  it('shows each figure beside its ceiling and the ratio', () => {
    const md = renderMarkdown(results());
    expect(row(md, '| GET /api/auth/me, 16 conn.')).toMatch(/\| 5,000 req\/s \| 20,000\/s \(HTTP, 16 conn\.\) \| 25\.0% \|/);
    expect(row(md, '| refresh (POST /api/auth/token, chained), 16 conn.')).toMatch(/\| 500 req\/s \| 10,000\/s \(commit\) \| 5\.0% \|/);
    expect(row(md, '| login (POST /api/auth/login), 8 conn.')).toMatch(
      /\| 15\.0 logins\/s \| 20\.0 bcrypt verifies\/s \(2 threads\) \| 75\.0% \|/,
    );
    expect(row(md, '| HTTP ceiling, 16 connections')).toContain('**20,000/s**');
    expect(row(md, '| Commit ceiling')).toContain('**10,000/s**');
  });

  it('says whether the bench and the plain autocannon CLI agree, and when the machine was busy', () => {
    const cpu = (other: number) => ({ app: 1, appPrimary: 0, postgres: 0, redis: 0, loadGenerator: 0.4, other, idle: 0, cores: 2 });
    const check = (rps: number, other: number) => ({
      command: 'autocannon -c 16 …',
      rps,
      p50: 1,
      p99: 3,
      non2xx: 0,
      errors: 0,
      cpu: cpu(other),
      ...agreement(5_000, rps),
      busyMachine: disturbed(cpu(other)),
    });
    const md = renderMarkdown(
      results({
        me: { title: 'me', load: load(5_000, 16), crossCheck: check(5_200, 0.05) },
        profile: { title: 'profile', load: load(5_000, 16), crossCheck: check(17_000, 0.05) },
        usersList: { title: 'users', load: load(5_000, 8), crossCheck: check(8_000, 0.6) },
      }),
    );
    expect(row(md, '| me |')).toMatch(/\| 5,000 req\/s \| 5,200 req\/s \| 0\.96 \| \*\*yes\*\* \| 0\.40 \|/);
    expect(row(md, '| profile |')).toMatch(/\| 5,000 req\/s \| 17,000 req\/s \| 0\.29 \| \*\*no\*\* \| 0\.40 \|/);
    expect(row(md, '| usersList |')).toMatch(/\| 0\.63 \| \*\*no\*\* \(machine busy: other processes took 0\.60 cores\) \|/);
  });

  it('counts a run as disturbed when other processes took a quarter of a core or more', () => {
    const cpu = (other: number) => ({ app: 1, appPrimary: 0, postgres: 0, redis: 0, loadGenerator: 0.4, other, idle: 0, cores: 2 });
    expect(disturbed(cpu(0.24))).toBe(false);
    expect(disturbed(cpu(0.25))).toBe(true);
    expect(disturbed(null)).toBe(false);
  });

  it('states the log growth per active user-day', () => {
    expect(renderMarkdown(results())).toContain(
      'its login and 96.0 refreshes; the login from the login scenario): **99.0 events, 51,620 bytes of event rows, 78,800 bytes of event tables on disk**',
    );
  });
});
