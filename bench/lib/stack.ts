import { bounded } from '../../src/infra/bounded';
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

export { bounded };

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const withDatabase = (url: string, db: string): string => {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
};

/** Only loopback targets: the bench never sends traffic elsewhere. */
export function assertLoopback(url: string, what: string): void {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (!/^(127\.\d+\.\d+\.\d+|localhost|::1)$/.test(host)) throw new Error(`${what} must point at this machine (127.0.0.1/localhost/::1), got ${host}`);
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

export interface AppProcess {
  child: ChildProcess;
  url: string;
  /** The last lines the app wrote (LOG_LEVEL=warn: warnings and errors). */
  tail(): string;
  stop(): Promise<void>;
}

/** Starts `node dist/main.js all` with `env`, and resolves once /health/live answers. */
export async function startApp(env: NodeJS.ProcessEnv, port: number, nodeArgs: string[] = []): Promise<AppProcess> {
  const main = path.join(ROOT, 'dist', 'main.js');
  if (!fs.existsSync(main)) throw new Error('dist/main.js is missing: the build did not produce it');
  const child = spawn(process.execPath, [...nodeArgs, main, 'all'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(l.length > 2000 ? `${l.slice(0, 2000)}…` : l);
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited: number | null | undefined;
  const exit = new Promise<void>((resolve) => child.once('exit', (code) => {
    exited = code;
    resolve();
  }));
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
  onCleanup('stop app', stop);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exited !== undefined) throw new Error(`the app exited with code ${exited} while starting:\n${lines.join('\n')}`);
    try {
      const r = await fetch(`${url}/health/live`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the app did not answer /health/live within 120 s:\n${lines.join('\n')}`);
    await sleep(100);
  }
  return { child, url, tail: () => lines.join('\n'), stop };
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
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}:\n${out.slice(-4000)}`))));
  });
}
