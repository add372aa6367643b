/**
 * The bench's own stack: a fresh database on the machine's PostgreSQL, a unique Redis prefix,
 * and the built app as a child process in production mode. Everything it creates is undone by
 * the cleanups registered here, also on failure and on Ctrl-C.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { bounded } from '../../src/infra/bounded';

export const ROOT = path.resolve(__dirname, '..', '..');

const cleanups: { name: string; run: () => Promise<void> }[] = [];
let cleaning: Promise<void> | null = null;

/** Registers an undo step; they run last-in first-out, each bounded, once. */
export const onCleanup = (name: string, run: () => Promise<void>): void => {
  cleanups.push({ name, run });
};

export function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length) {
      const c = cleanups.pop()!;
      try {
        await bounded(c.run(), 30_000);
      } catch (err) {
        console.error(`cleanup "${c.name}" failed: ${(err as Error).message}`);
      }
    }
  })();
  return cleaning;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const withDatabase = (url: string, db: string): string => {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
};

/** Only loopback targets: the bench never sends traffic elsewhere. */
export function assertLoopback(url: string, what: string): void {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (!/^(127\.\d+\.\d+\.\d+|localhost|::1)$/.test(host))
    throw new Error(`${what} must point at this machine (127.0.0.1/localhost/::1), got ${host}`);
}

export interface BenchDatabase {
  name: string;
  url: string;
}

export async function createDatabase(adminUrl: string): Promise<BenchDatabase> {
  const name = `iam_bench_${randomBytes(5).toString('hex')}`;
  const c = new Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  onCleanup(`drop database ${name}`, async () => {
    const d = new Client({ connectionString: adminUrl });
    await d.connect();
    try {
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await d.end();
    }
  });
  return { name, url: withDatabase(adminUrl, name) };
}

export async function postgresVersion(url: string): Promise<string> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0].v;
  } finally {
    await c.end();
  }
}

/** Deletes every key under the prefix (`<prefix>:*`: rate limits, revocations, BullMQ queues). */
export async function deleteRedisKeys(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();
  let deleted = 0;
  try {
    for (const pattern of [`${prefix}:*`, prefix]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length) deleted += await redis.unlink(...keys);
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** The app, or the bare Koa app of the HTTP ceiling. */
export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** The last lines the process wrote (the app at LOG_LEVEL=warn: warnings and errors). */
  tail(): string;
  /** Bytes the process wrote to its output so far. */
  outputBytes(): number;
  stop(): Promise<void>;
}

const TAIL_BYTES = 64 * 1024;

/**
 * Starts `node <args>` and resolves once `readyPath` answers 2xx. Its output goes to `logFile`,
 * not through a pipe to the bench: a process that logs much is then not slowed by the bench's
 * reading, and the bench's event loop does not carry the app's output.
 */
export async function startServer(o: {
  name: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  port: number;
  readyPath: string;
  logFile: string;
}): Promise<ServerProcess> {
  const out = fs.openSync(o.logFile, 'a');
  const child = spawn(process.execPath, o.args, { cwd: ROOT, env: o.env, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  const tail = () => {
    try {
      const size = fs.statSync(o.logFile).size;
      const fd = fs.openSync(o.logFile, 'r');
      try {
        const buf = Buffer.alloc(Math.min(size, TAIL_BYTES));
        fs.readSync(fd, buf, 0, buf.length, size - buf.length);
        return buf
          .toString('utf8')
          .split('\n')
          .slice(-200)
          .map((l) => (l.length > 2000 ? `${l.slice(0, 2000)}…` : l))
          .join('\n');
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      return '';
    }
  };
  const outputBytes = () => {
    try {
      return fs.statSync(o.logFile).size;
    } catch {
      return 0;
    }
  };
  let exited: number | null | undefined;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exited = code;
      resolve();
    }),
  );
  const stop = async () => {
    if (exited !== undefined) return;
    child.kill('SIGTERM');
    try {
      await bounded(exit, 30_000);
    } catch {
      child.kill('SIGKILL');
      await bounded(exit, 5000).catch(() => undefined);
    }
  };
  onCleanup(`stop ${o.name}`, stop);
  const url = `http://127.0.0.1:${o.port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exited !== undefined) throw new Error(`${o.name} exited with code ${exited} while starting:\n${tail()}`);
    try {
      const r = await fetch(`${url}${o.readyPath}`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${o.name} did not answer ${o.readyPath} within 120 s:\n${tail()}`);
    await sleep(100);
  }
  return { child, url, tail, outputBytes, stop };
}

/** Starts `node dist/main.js all` with `env` (its output in DATA_DIR/app.log), once /health/live answers. */
export function startApp(env: NodeJS.ProcessEnv, port: number, nodeArgs: string[] = []): Promise<ServerProcess> {
  const main = path.join(ROOT, 'dist', 'main.js');
  if (!fs.existsSync(main)) throw new Error('dist/main.js is missing: the build did not produce it');
  return startServer({
    name: 'the app',
    args: [...nodeArgs, main, 'all'],
    env,
    port,
    readyPath: '/health/live',
    logFile: path.join(env.DATA_DIR!, 'app.log'),
  });
}

/** Runs a command to completion, output shown; rejects on a non-zero exit. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; quiet?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const take = (c: Buffer) => {
      out += c.toString('utf8');
      if (!opts.quiet) process.stdout.write(c);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    onCleanup(`stop ${cmd}`, async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}:\n${out.slice(-4000)}`)),
    );
  });
}
