/** bench/results.md from the results object of bench/run.ts. */
import type { Results, ScenarioReport } from '../run';
import type { CpuShare } from './cpu';
import type { LoadResult } from './load';

const f = (n: unknown, d = 0): string =>
  typeof n === 'number' && Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '—';
const ms = (n: unknown): string => (typeof n === 'number' && Number.isFinite(n) ? `${f(n, n < 10 ? 2 : 1)} ms` : '—');
const yes = (b: boolean | null): string => (b === null ? '—' : b ? '**yes**' : '**no**');

interface Row {
  scenario: string;
  throughput: string;
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

const lagOf = (s: ScenarioReport | undefined) => s?.projectionLagMs as { p50: number; p99: number; samples: number; notVisible: number } | undefined;

function rows(r: Results): Row[] {
  const s = r.scenarios;
  const out: Row[] = [];
  const login = s.login;
  if (login?.load) {
    const hash = login.hashRate as { perSecond: number; threads: number };
    const frac = login.fractionOfHashLimit as number;
    out.push({
      scenario: `login (POST /api/auth/login), ${login.load.connections} conn.`,
      throughput: `${f(login.load.rps, 1)} logins/s = ${f(frac * 100, 1)}% of ${f(hash.perSecond, 1)} bcrypt verifies/s (${hash.threads} threads)`,
      p50: ms(login.load.p50),
      p99: ms(login.load.p99),
      target: '≥ 90% of the hash-bound limit',
      met: frac >= 0.9,
      errors: errorsOf(login.load),
    });
  }
  const simple = (key: string, label: string, target: string, ok: (l: LoadResult) => boolean, unit = 'req/s') => {
    const x = s[key];
    if (!x?.load) return;
    out.push({ scenario: `${label}, ${x.load.connections} conn.`, throughput: `${f(x.load.rps)} ${unit}`, p50: ms(x.load.p50), p99: ms(x.load.p99), target, met: ok(x.load), errors: errorsOf(x.load) });
  };
  simple('refresh', 'refresh (POST /api/auth/token, chained)', '≥ 3,000/s', (l) => l.rps >= 3000);
  simple('me', 'GET /api/auth/me', '≥ 15,000/s', (l) => l.rps >= 15000);
  simple('profile', 'GET /api/profile', '≥ 8,000/s, p99 < 10 ms', (l) => l.rps >= 8000 && l.p99 < 10);
  simple('usersSearch', 'GET /api/users?role=viewer&sort=-createdAt&q=user12', '≥ 1,500/s, p99 < 50 ms', (l) => l.rps >= 1500 && l.p99 < 50);
  simple('usersList', 'GET /api/users?role=viewer&sort=-createdAt', '≥ 1,500/s, p99 < 50 ms', (l) => l.rps >= 1500 && l.p99 < 50);
  const c = s.commands;
  if (c?.load) {
    const lag = lagOf(c);
    out.push({
      scenario: `CreatePermission (POST /api/permissions), ${c.load.connections} conn.`,
      throughput: `${f(c.load.rps)} commands/s (projection lag at that load: p50 ${ms(lag?.p50)}, p99 ${ms(lag?.p99)})`,
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
      p50: '—',
      p99: '—',
      target: '≥ 20,000 events/s',
      met: (rp.eventsPerSecond as number) >= 20000,
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
  c ? `| ${name} | ${f(c.app, 2)} | ${f(c.postgres, 2)} | ${f(c.redis, 2)} | ${f(c.loadGenerator, 2)} | ${f(c.other, 2)} | ${f(c.idle, 2)} |` : '';

export function renderMarkdown(r: Results): string {
  const m = r.machine;
  const st = r.settings;
  const L: string[] = [];
  L.push('# Benchmark results', '');
  L.push(`Run by \`npm run bench\` on ${r.date.slice(0, 19).replace('T', ' ')} UTC${r.finished ? '' : ' — **incomplete run** (stopped early; numbers so far)'}.`, '');
  L.push(
    `Machine: ${m.cores} × ${m.model}, ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}; PostgreSQL ${m.postgres ?? '?'}; load average at start ${(m.loadAverageAtStart as number[]).join(' / ')}.`,
    `App: \`node dist/main.js all\` with API_PROCESSES=${Number(st.apiProcesses ?? 1)} (${Number(st.apiProcesses ?? 1) > 1 ? `${st.apiProcesses} forked API processes sharing the port; the primary runs the projector and workers` : 'API + projector + workers in one process'}), commit ${String(st.commit ?? 'unknown')}, NODE_ENV=production, bcrypt cost **${st.bcryptCost}**, rate limits raised out of reach, load from autocannon on the same machine over 127.0.0.1.`,
    `Data: ${f(st.users as number)} seeded users (+1 admin), 50 services, 1,000 permissions, grants for 20% of users. Each load scenario: ${st.durationSeconds} s measured${(st.warmupSeconds as number) > 0 ? ` (read scenarios after ${st.warmupSeconds} s of warm-up)` : ''}.${st.cpuProfiled ? ' **The app ran under --cpu-prof: numbers include the profiler’s cost.**' : ''}`,
    '',
  );
  L.push('| scenario | throughput | p50 | p99 | target | met? | non-2xx / errors |', '|---|---|---|---|---|---|---|');
  for (const x of rows(r)) L.push(`| ${x.scenario} | ${x.throughput} | ${x.p50} | ${x.p99} | ${x.target} | ${yes(x.met)} | ${x.errors} |`);
  L.push('');

  if (r.seed || r.projectionOfSeed) {
    L.push('## Seed and its projection', '');
    if (r.seed) L.push(`- Seeded **${f(r.seed.events as number)} events** in ${f(r.seed.seconds as number, 1)} s (${f(r.seed.eventsPerSecond as number)} events/s): ${r.seed.method}.`);
    const p = r.projectionOfSeed;
    if (p) {
      L.push(`- The app projected them in **${f(p.seconds as number, 1)} s = ${f(p.eventsPerSecond as number)} events/s** (${p.caughtUp ? 'all projections caught up' : '**not caught up** within the time allowed'}); ${p.method}.`);
      const per = p.secondsPerProjection as Record<string, number | null>;
      L.push(`- Caught up after (s): ${Object.entries(per).map(([k, v]) => `${k} ${v === null ? '—' : f(v, 1)}`).join(', ')}.`);
    }
    L.push('');
  }

  const rp = r.scenarios.replay;
  if (rp && typeof rp.eventsPerSecond === 'number') {
    L.push('## Replay', '');
    L.push(`${rp.method}.`, '');
    L.push(`${f(rp.processed as number)} of ${f(rp.logEvents as number)} log events in ${f(rp.seconds as number, 1)} s = **${f(rp.eventsPerSecond as number)} events/s**${rp.finished ? '' : ` (stopped at the cap; a full pass would take about ${f(rp.projectedSeconds as number, 0)} s)`}.`, '');
  }

  const lagRows = (['commands', 'lag'] as const).map((k) => [k, lagOf(r.scenarios[k])] as const).filter(([, l]) => l);
  if (lagRows.length) {
    L.push('## Projection lag', '');
    L.push(
      'Measured on every command, not sampled: a deferred constraint trigger (installed by the bench on the bench database only) stamps `clock_timestamp()` when the transaction that inserts the `permissions` read row commits; lag = that stamp − `es_events.created_at` of the `PermissionCreated` event (stamped at the append, same clock). It is what a reader of the read table waits for after the append. The HTTP answer of a command itself waits (read-your-writes) for the projections its follow-up reads use, so the command latency above includes their lag.',
      '',
    );
    L.push('| run | commands | lag p50 | lag p99 | not visible |', '|---|---|---|---|---|');
    for (const [k, l] of lagRows) L.push(`| ${k === 'commands' ? 'as fast as possible' : `paced at ${f(r.scenarios.lag?.targetRate as number)}/s`} | ${f(l!.samples)} | ${ms(l!.p50)} | ${ms(l!.p99)} | ${f(l!.notVisible)} |`);
    L.push('');
  }

  const cpuLines = Object.entries(r.scenarios)
    .flatMap(([k, s]) => [cpuRow(k, s?.cpu as CpuShare | null | undefined), k === 'storm' ? cpuRow('storm (idle part)', s?.idleCpu as CpuShare | null) : ''])
    .filter(Boolean);
  if (cpuLines.length) {
    L.push('## Where the CPU went (average cores busy)', '');
    L.push('From /proc, sampled each second: the app processes (the primary and its forked API processes, all threads, bcrypt workers included), every `postgres` process, `redis-server`, the bench itself (autocannon, the load generator), the rest of the machine, and idle.', '');
    L.push('| scenario | app | postgres | redis | load generator | other | idle |', '|---|---|---|---|---|---|---|', ...cpuLines, '');
  }

  const pgLines = Object.entries(r.scenarios).flatMap(([k, s]) => {
    const p = s?.postgresPerRequest as Record<string, number> | undefined;
    return p ? [`| ${k} | ${f(p.transactions, 1)} | ${f(p.rowsFetched, 1)} | ${f(p.rowsInserted, 1)} | ${f(p.rowsUpdated, 1)} |`] : [];
  });
  if (pgLines.length) {
    L.push('## PostgreSQL work per request', '');
    L.push('From `pg_stat_database` of the bench database over each scenario (everything the app did meanwhile, projections included), divided by the requests answered. A statement outside a transaction counts as one transaction.', '');
    L.push('| scenario | transactions | rows fetched | rows inserted | rows updated |', '|---|---|---|---|---|', ...pgLines, '');
  }

  const prof = r.cpuProfile as { file: string; topFunctions: { name: string; where: string; share: number }[]; byPackage: { name: string; share: number }[]; scenarios: string[] } | undefined;
  if (prof) {
    L.push('## CPU profile of the app (main thread, self time)', '');
    L.push(`\`node --cpu-prof\` over the scenarios ${prof.scenarios.join(', ')}; file \`${prof.file}\` (open in Chrome DevTools).`, '');
    L.push('| share of busy time | package |', '|---|---|', ...prof.byPackage.slice(0, 12).map((p) => `| ${f(p.share, 1)}% | ${p.name} |`), '');
    L.push('| share | function | where |', '|---|---|---|', ...prof.topFunctions.slice(0, 20).map((t) => `| ${f(t.share, 1)}% | \`${t.name}\` | ${t.where} |`), '');
  }

  L.push('## Reference points', '');
  L.push(
    '- Keycloak: about 15 password logins/s and 120 refreshes/s per vCPU (its sizing guide, bcrypt-class hashing).',
    '- The seed Express apps: refresh 500/s (rotating, SQLite), 2,600–3,000/s (non-rotating, MariaDB); a JWT-only GET 14,500/s; a GET that checks the session in the database 2,000/s.',
    `- Login is bound by bcrypt by design: at cost ${st.bcryptCost} one verify takes ~${r.scenarios.login?.hashRate ? f(1000 / ((r.scenarios.login.hashRate as { perThreadPerSecond: number }).perThreadPerSecond), 0) : '?'} ms of one core here, so a ${m.cores}-core machine cannot exceed the hash-bound limit above; each +1 of cost halves it.`,
    '',
  );
  if (r.notes.length) L.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  L.push(`Total bench time: ${f(r.totalSeconds ?? 0)} s. Raw numbers: \`bench/results.json\`.`, '');
  return `${L.join('\n')}\n`;
}
