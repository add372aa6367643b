/**
 * Where the machine's CPU went during a scenario, from /proc (Linux): the app process (all its
 * threads, bcrypt workers included) and its forked API processes, PostgreSQL (the server's own
 * processes: WAL writer, checkpointer, ...; and the backends of the bench database, not those
 * of other databases on a shared server), Redis, the load generator (this bench process, plus
 * the CPU its load processes report for their run), and everything else. Sampled each second
 * so connections opened and closed during the scenario are counted.
 */
import fs from 'node:fs';

const TICKS = 100; // USER_HZ: 100 on Linux, whatever the kernel's HZ

export interface CpuShare {
  /** Average cores busy over the scenario. */
  app: number;
  /** The app's primary process alone (projector, workers; the API too when it forks none). */
  appPrimary: number;
  postgres: number;
  redis: number;
  loadGenerator: number;
  other: number;
  idle: number;
  cores: number;
}

const statFields = (pid: number | 'self'): string[] | null => {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
};

const readTicks = (pid: number): number | null => {
  const f = statFields(pid);
  return f ? Number(f[11]) + Number(f[12]) : null; // utime + stime
};

/**
 * CPU seconds of this process's exited children (cutime + cstime): how a child's CPU is known
 * when it cannot report it itself (the plain autocannon CLI).
 */
export const reapedChildSeconds = (): number => {
  const f = statFields('self');
  return f ? (Number(f[13]) + Number(f[14])) / TICKS : 0;
};

const parentOf = (pid: number): number | null => {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
};

const commOf = (pid: number): string => {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};

/** The database a PostgreSQL client backend serves, from its process title; null for the server's own processes. */
const backendDatabase = (pid: number): string | null => {
  try {
    const title = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    return /^postgres: [^:]+: \S+ (\S+) (?:\[local\]|\S+\(\d+\))/.exec(title)?.[1] ?? null;
  } catch {
    return null;
  }
};

const machineTicks = (): { busy: number; idle: number } => {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3] + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, idle };
};

type Group = 'app' | 'postgres' | 'redis' | 'loadGenerator';

export class CpuSampler {
  private last = new Map<number, number>();
  private acc: Record<Group, number> = { app: 0, postgres: 0, redis: 0, loadGenerator: 0 };
  private primary = 0;
  private start = machineTicks();
  private started = Date.now();
  private timer: NodeJS.Timeout | null = null;

  /**
   * `database`: the bench's database. Backends serving other databases (someone else's on a
   * shared server) count as other processes, not as the bench's PostgreSQL.
   */
  constructor(
    private readonly appPid: number | null,
    private readonly database: string | null = null,
  ) {
    if (!fs.existsSync('/proc/stat')) return;
    for (const [pid] of this.pids()) this.last.set(pid, readTicks(pid) ?? 0);
    this.timer = setInterval(() => this.sample(), 1000);
    this.timer.unref();
  }

  private *pids(): Generator<[number, Group]> {
    if (this.appPid) yield [this.appPid, 'app'];
    yield [process.pid, 'loadGenerator'];
    for (const d of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      const pid = Number(d);
      if (pid === this.appPid || pid === process.pid) continue;
      const c = commOf(pid);
      if (c === 'postgres') {
        const db = this.database && backendDatabase(pid);
        if (!db || db === this.database) yield [pid, 'postgres'];
      } else if (c === 'redis-server') yield [pid, 'redis'];
      // The app's forked API processes count as the app.
      else if (this.appPid && parentOf(pid) === this.appPid) yield [pid, 'app'];
    }
  }

  private sample(): void {
    for (const [pid, group] of this.pids()) {
      const t = readTicks(pid);
      if (t === null) continue;
      const prev = this.last.get(pid) ?? 0;
      this.acc[group] += Math.max(0, t - prev);
      if (pid === this.appPid) this.primary += Math.max(0, t - prev);
      this.last.set(pid, t);
    }
  }

  /** `loadSeconds`: CPU the load processes of the scenario used (they are not sampled). */
  stop(loadSeconds = 0): CpuShare | null {
    if (!this.timer) return null;
    clearInterval(this.timer);
    this.sample();
    const end = machineTicks();
    const secs = (Date.now() - this.started) / 1000;
    const perSec = (ticks: number) => ticks / TICKS / secs;
    const busy = perSec(end.busy - this.start.busy);
    this.acc.loadGenerator += loadSeconds * TICKS;
    const known = this.acc.app + this.acc.postgres + this.acc.redis + this.acc.loadGenerator;
    const round = (x: number) => Math.round(x * 100) / 100;
    return {
      app: round(perSec(this.acc.app)),
      appPrimary: round(perSec(this.primary)),
      postgres: round(perSec(this.acc.postgres)),
      redis: round(perSec(this.acc.redis)),
      loadGenerator: round(perSec(this.acc.loadGenerator)),
      other: round(Math.max(0, busy - perSec(known))),
      idle: round(perSec(end.idle - this.start.idle)),
      cores: round(busy + perSec(end.idle - this.start.idle)),
    };
  }
}
