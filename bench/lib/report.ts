/** bench/results.md from the results of a run (bench/lib/results.ts). */
import type { CpuShare } from './cpu';
import type { Lag } from './lag-probe';
import { AGREEMENT, CeilingRatio, LoadResult, Results, ScenarioReport } from './results';

const f = (n: unknown, d = 0): string =>
  typeof n === 'number' && Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '—';
const ms = (n: unknown): string => (typeof n === 'number' && Number.isFinite(n) ? `${f(n, n < 10 ? 2 : 1)} ms` : '—');
const yes = (b: boolean | null): string => (b === null ? '—' : b ? '**yes**' : '**no**');
const pct = (x: number | undefined): string => (x === undefined ? '—' : `${f(100 * x, 1)}%`);
/** The ratio, marked when other processes took CPU during the scenario or its ceiling. */
const ratioOf = (c: CeilingRatio | undefined): string => (c ? `${pct(c.ratio)}${c.busyMachine ? ' (machine busy)' : ''}` : '—');

interface Row {
  scenario: string;
  throughput: string;
  ceiling: string;
  ratio: string;
  p50: string;
  p99: string;
  target: string;
  met: boolean | null;
  errors: string;
}

const errorsOf = (l: LoadResult | undefined): string => {
  if (!l) return '—';
  const parts = [`${f(l.non2xx)} non-2xx`];
  if (l.errors) parts.push(`${f(l.errors)} errors`);
  if (l.timeouts) parts.push(`${f(l.timeouts)} timeouts`);
  if (l.abandoned) parts.push(`${f(l.abandoned)} still queued at the end (server behind the rate; not errors)`);
  return parts.join(', ');
};

const lagOf = (s: ScenarioReport | undefined) => s?.projectionLagMs as Lag | undefined;

const CEILING_NAMES = { http: 'HTTP', commit: 'commit', hash: 'hash-bound' } as const;
const ceilingOf = (c: CeilingRatio | undefined): string =>
  c
    ? `${f(c.ceiling, c.kind === 'hash' ? 1 : 0)}/s (${CEILING_NAMES[c.kind]}${c.kind === 'http' ? `, ${c.from.replace('httpCeiling', '')} conn.` : ''})`
    : '—';

function rows(r: Results): Row[] {
  const s = r.scenarios;
  const out: Row[] = [];
  const login = s.login;
  if (login?.load && login.hashRate) {
    const hash = login.hashRate;
    const ratio = login.ceiling?.ratio;
    out.push({
      scenario: `login (POST /api/auth/login), ${login.load.connections} conn.`,
      throughput: `${f(login.load.rps, 1)} logins/s`,
      ceiling: `${f(hash.perSecond, 1)} bcrypt verifies/s (${hash.threads} threads)`,
      ratio: ratioOf(login.ceiling),
      p50: ms(login.load.p50),
      p99: ms(login.load.p99),
      target: '≥ 90% of the hash-bound limit',
      met: ratio === undefined ? null : ratio >= 0.9,
      errors: errorsOf(login.load),
    });
  }
  const simple = (key: string, label: string, target: string, ok: (l: LoadResult, ratio: number | undefined) => boolean) => {
    const x = s[key];
    if (!x?.load) return;
    out.push({
      scenario: `${label}, ${x.load.connections} conn.`,
      throughput: `${f(x.load.rps)} req/s`,
      ceiling: ceilingOf(x.ceiling),
      ratio: ratioOf(x.ceiling),
      p50: ms(x.load.p50),
      p99: ms(x.load.p99),
      target,
      met: ok(x.load, x.ceiling?.ratio),
      errors: errorsOf(x.load),
    });
  };
  simple('refresh', 'refresh (POST /api/auth/token, chained)', '≥ 2,000/s', (l) => l.rps >= 2000);
  simple('me', 'GET /api/auth/me', '≥ 50% of the HTTP ceiling', (_, ratio) => ratio !== undefined && ratio >= 0.5);
  simple('profile', 'GET /api/profile', '≥ 8,000/s, p99 < 10 ms', (l) => l.rps >= 8000 && l.p99 < 10);
  simple(
    'usersSearch',
    'GET /api/users?role=viewer&sort=-createdAt&q=user12',
    '≥ 1,500/s, p99 < 50 ms',
    (l) => l.rps >= 1500 && l.p99 < 50,
  );
  simple('usersList', 'GET /api/users?role=viewer&sort=-createdAt', '≥ 1,500/s, p99 < 50 ms', (l) => l.rps >= 1500 && l.p99 < 50);
  const c = s.commands;
  if (c?.load) {
    const lag = lagOf(c);
    out.push({
      scenario: `CreatePermission (POST /api/permissions), ${c.load.connections} conn.`,
      throughput: `${f(c.load.rps)} commands/s (projection lag at that load: p50 ${ms(lag?.p50)}, p99 ${ms(lag?.p99)})`,
      ceiling: ceilingOf(c.ceiling),
      ratio: ratioOf(c.ceiling),
      p50: ms(c.load.p50),
      p99: ms(c.load.p99),
      target: '≥ 1,000 commands/s',
      met: c.load.rps >= 1000,
      errors: errorsOf(c.load),
    });
  }
  const lagS = s.lag;
  if (lagS?.load) {
    const lag = lagOf(lagS);
    const rate = lagS.targetRate as number;
    out.push({
      scenario: `projection lag, CreatePermission at a steady ${f(rate)}/s (open loop)`,
      throughput: `${f(lagS.load.rps)} commands/s achieved`,
      ceiling: ceilingOf(lagS.ceiling),
      ratio: ratioOf(lagS.ceiling),
      p50: `lag ${ms(lag?.p50)} (request ${ms(lagS.load.p50)})`,
      p99: `lag ${ms(lag?.p99)} (request ${ms(lagS.load.p99)})`,
      target: `lag p99 < 100 ms at 500 commands/s`,
      met: lag ? lag.p99 < 100 && lagS.load.rps >= 0.95 * rate && rate >= 500 : null,
      errors: errorsOf(lagS.load),
    });
  }
  const rp = s.replay;
  if (rp && typeof rp.eventsPerSecond === 'number') {
    out.push({
      scenario: `replay of ${f(rp.logEvents as number)} events, all ${f(rp.projections as number)} projections in one pass`,
      throughput: `${f(rp.eventsPerSecond as number)} events/s (${f(rp.processed as number)} events in ${f(rp.seconds as number, 1)} s${rp.finished ? '' : ', stopped at the cap'})`,
      ceiling: '—',
      ratio: '—',
      p50: '—',
      p99: '—',
      target: '≥ 30,000 events/s',
      met: (rp.eventsPerSecond as number) >= 30000,
      errors: '—',
    });
  }
  const st = s.storm;
  if (st?.idle) {
    const idle = st.idle as LoadResult;
    const during = st.during as LoadResult;
    const logins = st.logins as LoadResult;
    out.push({
      scenario: `GET /api/profile at a steady ${f(idle.targetRate)}/s during a login storm (${logins.connections} conn., ${f(logins.rps, 1)} logins/s)`,
      throughput: `${f(during.rps)} req/s (idle ${f(idle.rps)})`,
      ceiling: '—',
      ratio: '—',
      p50: `${ms(during.p50)} (idle ${ms(idle.p50)})`,
      p99: `${ms(during.p99)} (idle ${ms(idle.p99)}, the lower of before and after) = ${f(st.ratioP99 as number, 2)}×`,
      target: 'p99 < 2× idle p99',
      met: (st.ratioP99 as number) < 2,
      errors: `${errorsOf(during)}; logins ${errorsOf(logins)}`,
    });
  }
  return out;
}

const cpuRow = (name: string, c: CpuShare | null | undefined): string =>
  c
    ? `| ${name} | ${f(c.app, 2)} | ${f(c.appPrimary, 2)} | ${f(c.postgres, 2)} | ${f(c.redis, 2)} | ${f(c.loadGenerator, 2)} | ${f(c.other, 2)} | ${f(c.idle, 2)} |`
    : '';

/** The ceilings measured in this run, each with how. */
function ceilingLines(r: Results): string[] {
  const out: string[] = [];
  for (const [k, s] of Object.entries(r.scenarios)) {
    if (!s?.load || !(k.startsWith('httpCeiling') || k === 'commitCeiling')) continue;
    out.push(`| ${s.title} | **${f(s.load.rps)}/s** | ${ms(s.load.p50)} | ${ms(s.load.p99)} | ${errorsOf(s.load)} |`);
  }
  const hash = r.scenarios.login?.hashRate;
  if (hash)
    out.push(
      `| Hash-bound login limit: bcryptjs compareSync of the seeded hash, ${hash.threads} worker threads, ${f(hash.seconds, 1)} s | **${f(hash.perSecond, 1)}/s** | — | — | — |`,
    );
  return out;
}

export function renderMarkdown(r: Results): string {
  const m = r.machine;
  const st = r.settings;
  const L: string[] = [];
  L.push('# Benchmark results', '');
  L.push(
    `Run by \`npm run bench\` on ${r.date.slice(0, 19).replace('T', ' ')} UTC${r.finished ? '' : ' — **incomplete run** (stopped early; numbers so far)'}.`,
    '',
  );
  L.push(
    `Machine: ${m.cores} × ${m.model}, ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}; PostgreSQL ${m.postgres ?? '?'}; load average at start ${(m.loadAverageAtStart as number[]).join(' / ')}.`,
    `App: \`node dist/main.js all\` with API_PROCESSES=${Number(st.apiProcesses ?? 1)} (${Number(st.apiProcesses ?? 1) > 1 ? `${st.apiProcesses} forked API processes sharing the port; the primary runs the projector and workers` : 'API + projector + workers in one process'}), commit ${String(st.commit ?? 'unknown')}, NODE_ENV=production, bcrypt cost **${st.bcryptCost}**, rate limits raised out of reach, load from autocannon in a load process of its own on the same machine over 127.0.0.1.`,
    `Data: ${f(st.users as number)} seeded users (+1 admin), 50 services, 1,000 permissions, grants for 20% of users. Each load scenario: ${st.durationSeconds} s measured${(st.warmupSeconds as number) > 0 ? ` (read scenarios after ${st.warmupSeconds} s of warm-up)` : ''}.${st.cpuProfiled ? ' **The app ran under --cpu-prof: numbers include the profiler’s cost.**' : ''}`,
    '',
  );
  L.push(
    '| scenario | throughput | ceiling | ratio | p50 | p99 | target | met? | non-2xx / errors |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const x of rows(r))
    L.push(
      `| ${x.scenario} | ${x.throughput} | ${x.ceiling} | ${x.ratio} | ${x.p50} | ${x.p99} | ${x.target} | ${yes(x.met)} | ${x.errors} |`,
    );
  L.push('');

  const ceilings = ceilingLines(r);
  if (ceilings.length) {
    L.push('## Ceilings (measured in this run)', '');
    L.push(
      "Each scenario is compared with what bounds it on this machine, measured in the same run: the reads (`/me`, `/profile`, users) with a bare Koa hello-world run like the API (as many processes, the same connections, load process, warm-up and duration), the appending scenarios (refresh, commands, lag) with a `BEGIN; INSERT; COMMIT` loop (one round trip per transaction) through `pg` from 16 connections on the bench database, login with the bcrypt verify rate. The absolute figures are this machine's; the ratios are what carries from machine to machine.",
      '',
    );
    L.push('| ceiling | figure | p50 | p99 | errors |', '|---|---|---|---|---|', ...ceilings, '');
  }

  const checks = Object.entries(r.scenarios).flatMap(([k, s]) =>
    s?.crossCheck && s.load
      ? [
          `| ${k} | ${f(s.load.rps)} req/s | ${f(s.crossCheck.rps)} req/s | ${f(s.crossCheck.ratio, 2)} | ${yes(s.crossCheck.agrees)}${s.crossCheck.busyMachine ? ` (machine busy: other processes took ${f(Math.max(s.cpu?.other ?? 0, s.crossCheck.cpu?.other ?? 0), 2)} cores)` : ''} | ${f(s.crossCheck.cpu?.loadGenerator, 2)} | \`${s.crossCheck.command}\` |`,
        ]
      : [],
  );
  if (checks.length) {
    L.push('## Cross-check with the plain autocannon CLI', '');
    L.push(
      `Right after each read scenario, the autocannon CLI (\`node node_modules/autocannon/autocannon.js\`, no options beyond these) against the same app process, with the same connections and duration and one session's token. They agree when the bench's figure is within ±${f(AGREEMENT * 100)}% of the CLI's; when other processes of the machine took CPU during either run, the comparison says more about the machine than about the bench.`,
      '',
    );
    L.push(
      '| scenario | bench | autocannon CLI | bench ÷ CLI | agree? | CLI cores | command |',
      '|---|---|---|---|---|---|---|',
      ...checks,
      '',
    );
  }

  if (r.seed || r.projectionOfSeed) {
    L.push('## Seed and its projection', '');
    if (r.seed)
      L.push(
        `- Seeded **${f(r.seed.events as number)} events** in ${f(r.seed.seconds as number, 1)} s (${f(r.seed.eventsPerSecond as number)} events/s): ${r.seed.method}.`,
      );
    const p = r.projectionOfSeed;
    if (p) {
      L.push(
        `- The app projected them in **${f(p.seconds as number, 1)} s = ${f(p.eventsPerSecond as number)} events/s** (${p.caughtUp ? 'all projections caught up' : '**not caught up** within the time allowed'}); ${p.method}.`,
      );
      const per = p.secondsPerProjection as Record<string, number | null>;
      L.push(
        `- Caught up after (s): ${Object.entries(per)
          .map(([k, v]) => `${k} ${v === null ? '—' : f(v, 1)}`)
          .join(', ')}.`,
      );
    }
    L.push('');
  }

  const rp = r.scenarios.replay;
  if (rp && typeof rp.eventsPerSecond === 'number') {
    L.push('## Replay', '');
    L.push(`${rp.method}.`, '');
    L.push(
      `${f(rp.processed as number)} of ${f(rp.logEvents as number)} log events in ${f(rp.seconds as number, 1)} s = **${f(rp.eventsPerSecond as number)} events/s**${rp.finished ? '' : ` (stopped at the cap; a full pass would take about ${f(rp.projectedSeconds as number, 0)} s)`}.`,
      '',
    );
  }

  const lagRows = (['commands', 'lag'] as const).map((k) => [k, lagOf(r.scenarios[k])] as const).filter(([, l]) => l);
  if (lagRows.length) {
    L.push('## Projection lag', '');
    L.push(
      'Measured on every command, not sampled: a deferred constraint trigger (installed by the bench on the bench database only) stamps `clock_timestamp()` when the transaction that inserts the `permissions` read row commits; lag = that stamp − `es_events.created_at` of the `PermissionCreated` event (stamped at the append, same clock). It is what a reader of the read table waits for after the append. The HTTP answer of a command itself waits (read-your-writes) for the projections its follow-up reads use, so the command latency above includes their lag.',
      '',
    );
    L.push('| run | commands | lag p50 | lag p99 | not visible |', '|---|---|---|---|---|');
    for (const [k, l] of lagRows)
      L.push(
        `| ${k === 'commands' ? 'as fast as possible' : `paced at ${f(r.scenarios.lag?.targetRate as number)}/s`} | ${f(l!.samples)} | ${ms(l!.p50)} | ${ms(l!.p99)} | ${f(l!.notVisible)} |`,
      );
    L.push('');
  }

  const growth = [
    ...Object.entries(r.scenarios).map(([k, s]) => [k, s?.logGrowth] as const),
    ['sign-ins before the scenarios', r.signIns] as const,
  ].flatMap(([k, g]) =>
    g && g.events > 0
      ? [
          `| ${k} | ${f(g.perRequest.events, 2)} | ${f(g.perRequest.eventRowBytes)} | ${f(g.perRequest.eventLogBytes)} | ${f(g.perRequest.readModelBytes)} | ${f(g.requests)} |`,
        ]
      : [],
  );
  if (growth.length) {
    L.push('## Log growth', '');
    L.push(
      "What each request added to the database, over the scenario: events appended, their row data (`pg_column_size` of the `es_events` rows: no row header, no index entries), and the growth on disk (`pg_total_relation_size`: heap, indexes and TOAST) of the event store's tables (`es_*`) and of the read models (every other table of the app). On-disk figures move by 8 kB pages: short runs make them coarse.",
      '',
    );
    L.push(
      '| scenario | events / request | event row bytes / request | event tables on disk, bytes / request | read models on disk, bytes / request | requests |',
      '|---|---|---|---|---|---|',
      ...growth,
      '',
    );
  }
  if (r.userDay) {
    const d = r.userDay;
    L.push(
      `**Per active user-day** (a client open all day with ACCESS_TOKEN_TTL = ${f(d.accessTokenTtlSeconds)} s: its login and ${f(d.refreshesPerDay, 1)} refreshes; the login from ${d.loginFrom}): **${f(d.events, 1)} events, ${f(d.eventRowBytes)} bytes of event rows, ${f(d.eventLogBytes)} bytes of event tables on disk**.`,
      '',
    );
  }

  const cpuLines = Object.entries(r.scenarios)
    .flatMap(([k, s]) => [cpuRow(k, s?.cpu), k === 'storm' ? cpuRow('storm (idle part)', s?.idleCpu as CpuShare | null) : ''])
    .filter(Boolean);
  if (cpuLines.length) {
    L.push('## Where the CPU went (average cores busy)', '');
    L.push(
      'From /proc, sampled each second: the app processes (the primary and its forked API processes, all threads, bcrypt workers included; for the HTTP ceiling, the bare Koa app), the primary alone, every `postgres` process, `redis-server`, the load generator (the bench and its load processes), the rest of the machine, and idle.',
      '',
    );
    L.push(
      '| scenario | app | of which primary | postgres | redis | load generator | other | idle |',
      '|---|---|---|---|---|---|---|---|',
      ...cpuLines,
      '',
    );
  }

  const pgLines = Object.entries(r.scenarios).flatMap(([k, s]) => {
    const p = s?.postgresPerRequest;
    return p
      ? [
          `| ${k} | ${f(p.transactions, 1)} | ${p.statements === undefined ? '—' : f(p.statements, 1)} | ${f(p.rowsFetched, 1)} | ${f(p.rowsInserted, 1)} | ${f(p.rowsUpdated, 1)} |`,
        ]
      : [];
  });
  if (pgLines.length) {
    L.push('## PostgreSQL work per request', '');
    L.push(
      `From the statistics of the bench database over each scenario (everything the app did meanwhile, projections included), divided by the requests answered: commits from \`pg_stat_database.xact_commit\` (a statement outside a transaction counts as one); statements: ${String(st.statementsPerRequest ?? 'not counted')}. Aims of issue 15: statements per refresh ≤ 2, per CreatePermission ≤ 4.`,
      '',
    );
    L.push(
      '| scenario | commits | statements | rows fetched | rows inserted | rows updated |',
      '|---|---|---|---|---|---|',
      ...pgLines,
      '',
    );
  }

  const prof = r.cpuProfile as
    | {
        file: string;
        topFunctions: { name: string; where: string; share: number }[];
        byPackage: { name: string; share: number }[];
        scenarios: string[];
      }
    | undefined;
  if (prof) {
    L.push('## CPU profile of the app (main thread, self time)', '');
    L.push(`\`node --cpu-prof\` over the scenarios ${prof.scenarios.join(', ')}; file \`${prof.file}\` (open in Chrome DevTools).`, '');
    L.push(
      '| share of busy time | package |',
      '|---|---|',
      ...prof.byPackage.slice(0, 12).map((p) => `| ${f(p.share, 1)}% | ${p.name} |`),
      '',
    );
    L.push(
      '| share | function | where |',
      '|---|---|---|',
      ...prof.topFunctions.slice(0, 20).map((t) => `| ${f(t.share, 1)}% | \`${t.name}\` | ${t.where} |`),
      '',
    );
  }

  L.push('## Reference points', '');
  L.push(
    '- Keycloak: about 15 password logins/s and 120 refreshes/s per vCPU (its sizing guide, bcrypt-class hashing).',
    '- The seed Express apps: refresh 500/s (rotating, SQLite), 2,600–3,000/s (non-rotating, MariaDB); a JWT-only GET 14,500/s; a GET that checks the session in the database 2,000/s.',
    `- Login is bound by bcrypt by design: at cost ${st.bcryptCost} one verify takes ~${r.scenarios.login?.hashRate ? f(1000 / r.scenarios.login.hashRate.perThreadPerSecond, 0) : '?'} ms of one core here, so a ${m.cores}-core machine cannot exceed the hash-bound limit above; each +1 of cost halves it.`,
    '',
  );
  if (r.notes.length) L.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  L.push(`Total bench time: ${f(r.totalSeconds ?? 0)} s. Raw numbers: \`bench/results.json\`.`, '');
  return `${L.join('\n')}\n`;
}
