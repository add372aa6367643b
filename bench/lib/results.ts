/**
 * What a run records (bench/results.json) and what is derived from it: the ratio of each
 * scenario to the ceiling it is bound by, the agreement with a plain autocannon run, the log's
 * growth per active user-day. Pure: the orchestration fills these in, report.ts renders them.
 */
import type { CpuShare } from './cpu';
import type { HashRate } from './hashrate';

export interface LoadResult {
  /** Completed 2xx answers per second over the measured duration. */
  rps: number;
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Paced runs: requests still unanswered when the run ended (the server was that far behind). */
  abandoned?: number;
  statuses: Record<string, number>;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  durationSeconds: number;
  connections: number;
  /** Target rate when the load was paced (requests/s over all connections). */
  targetRate?: number;
  /** A few non-2xx bodies, to explain them. */
  sampleErrors: string[];
}

export const percentile = (sorted: Float64Array | number[], p: number): number => {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
};

/** PostgreSQL work of the bench database over a scenario, divided by the requests answered. */
export interface PostgresPerRequest {
  /** `pg_stat_database.xact_commit`: every transaction, a statement outside one counting as one. */
  transactions: number;
  /** Top-level statements from `pg_stat_statements`, when the server has it loaded. */
  statements?: number;
  rowsFetched: number;
  rowsInserted: number;
  rowsUpdated: number;
}

/** What a scenario added to the database: the event log, and the read models beside it. */
export interface LogGrowth {
  requests: number;
  /** Events appended (es_events rows). */
  events: number;
  /** Their row data (`pg_column_size` of each row: no row header, no index entries). */
  eventRowBytes: number;
  /** On disk: growth of the event store's tables with their indexes and TOAST (`pg_total_relation_size` of es_*). */
  eventLogBytes: number;
  /** On disk: growth of every other table of the app (the read models) with their indexes. */
  readModelBytes: number;
  perRequest: { events: number; eventRowBytes: number; eventLogBytes: number; readModelBytes: number };
}

/** A client left open all day: its login, then a refresh every access-token lifetime. */
export interface UserDayGrowth {
  accessTokenTtlSeconds: number;
  refreshesPerDay: number;
  events: number;
  eventRowBytes: number;
  eventLogBytes: number;
  /** Where the login figure came from (the login scenario, or the sign-ins before the scenarios). */
  loginFrom: string;
}

export type CeilingKind = 'http' | 'commit' | 'hash';

/** A scenario's figure beside the ceiling it is bound by, measured in the same run. */
export interface CeilingRatio {
  kind: CeilingKind;
  /** The scenario whose figure is the ceiling (e.g. httpCeiling16), or login for the hash limit. */
  from: string;
  figure: number;
  ceiling: number;
  ratio: number;
  /** Other processes took CPU during the scenario or its ceiling: the ratio is then the machine's as much as the app's. */
  busyMachine: boolean;
}

/** The same read measured by a plain autocannon CLI process right after the bench's own run. */
export interface CrossCheck {
  /** The command line, the token replaced by a placeholder. */
  command: string;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  cpu: CpuShare | null;
  /** The bench's figure ÷ the CLI's. */
  ratio: number;
  agrees: boolean;
  /**
   * Other processes of the machine took CPU during one of the two runs: a disagreement then
   * says more about the machine than about the bench.
   */
  busyMachine: boolean;
}

/** Two figures agree when they are within this share of each other (issue 15: ±15%). */
export const AGREEMENT = 0.15;

/** Cores taken by processes that are neither the app, PostgreSQL, Redis nor the bench, above which a run was disturbed. */
export const INTERFERENCE_CORES = 0.25;

export const disturbed = (cpu: CpuShare | null | undefined): boolean => (cpu?.other ?? 0) >= INTERFERENCE_CORES;

export interface ScenarioReport {
  title: string;
  /** Measured load, when the scenario is an HTTP load (or, for the commit ceiling, transactions). */
  load?: LoadResult;
  cpu?: CpuShare | null;
  postgresPerRequest?: PostgresPerRequest;
  logGrowth?: LogGrowth;
  ceiling?: CeilingRatio;
  crossCheck?: CrossCheck;
  hashRate?: HashRate;
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
  /** Growth of the log per active user-day, when the refresh scenario ran. */
  userDay?: UserDayGrowth;
  /** The sign-ins before the scenarios (the login figure of the user-day when login did not run). */
  signIns?: LogGrowth;
  cpuProfile?: unknown;
  notes: string[];
  totalSeconds?: number;
}

/** Which ceiling bounds which scenario (issue 15, item 5). */
export const CEILING_OF: Readonly<Record<string, CeilingKind>> = {
  me: 'http',
  profile: 'http',
  usersSearch: 'http',
  usersList: 'http',
  refresh: 'commit',
  commands: 'commit',
  lag: 'commit',
  login: 'hash',
};

/** The key of the HTTP ceiling measured with this many connections. */
export const httpCeilingKey = (connections: number): string => `httpCeiling${connections}`;
export const COMMIT_CEILING = 'commitCeiling';

/** The scenario's ratio to its ceiling, when both were measured in this run. */
export function ratioToCeiling(key: string, report: ScenarioReport, scenarios: Results['scenarios']): CeilingRatio | null {
  const kind = CEILING_OF[key];
  const figure = report.load?.rps;
  if (!kind || figure === undefined) return null;
  let from: string;
  let ceiling: number | undefined;
  let busyMachine = disturbed(report.cpu);
  if (kind === 'hash') {
    from = key;
    ceiling = report.hashRate?.perSecond;
  } else {
    from = kind === 'http' ? httpCeilingKey(report.load!.connections) : COMMIT_CEILING;
    ceiling = scenarios[from]?.load?.rps;
    busyMachine ||= disturbed(scenarios[from]?.cpu);
  }
  if (ceiling === undefined || !(ceiling > 0)) return null;
  return { kind, from, figure, ceiling, ratio: figure / ceiling, busyMachine };
}

/** The bench's figure against the CLI's: the ratio, and whether they agree. */
export function agreement(bench: number, cli: number): { ratio: number; agrees: boolean } {
  const ratio = cli > 0 ? bench / cli : NaN;
  return { ratio, agrees: Math.abs(ratio - 1) <= AGREEMENT };
}

/** Growth divided by the requests that caused it. */
export function growthPerRequest(g: Omit<LogGrowth, 'perRequest'>): LogGrowth {
  const per = (x: number) => (g.requests > 0 ? x / g.requests : NaN);
  return {
    ...g,
    perRequest: {
      events: per(g.events),
      eventRowBytes: per(g.eventRowBytes),
      eventLogBytes: per(g.eventLogBytes),
      readModelBytes: per(g.readModelBytes),
    },
  };
}

const DAY_SECONDS = 86_400;

/** One login and a refresh every access-token lifetime for a day. */
export function userDay(login: LogGrowth, refresh: LogGrowth, accessTokenTtlSeconds: number, loginFrom: string): UserDayGrowth {
  const refreshesPerDay = DAY_SECONDS / accessTokenTtlSeconds;
  const day = (k: 'events' | 'eventRowBytes' | 'eventLogBytes') => login.perRequest[k] + refreshesPerDay * refresh.perRequest[k];
  return {
    accessTokenTtlSeconds,
    refreshesPerDay,
    events: day('events'),
    eventRowBytes: day('eventRowBytes'),
    eventLogBytes: day('eventLogBytes'),
    loginFrom,
  };
}
