/** The app as the bench runs it: its environment, its process count, the commit it was built from. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import type { Options } from './options';
import { onCleanup, ROOT } from './stack';

/** Every rate limit the app knows (read from its config source, so limits added later are covered too). */
export function rateLimitEnv(): Record<string, string> {
  const src = fs.readFileSync(path.join(ROOT, 'src', 'config', 'index.ts'), 'utf8');
  const names = new Set([
    'RATE_LIMIT_LOGIN_PER_IP',
    'RATE_LIMIT_REGISTER_PER_IP',
    'RATE_LIMIT_REFRESH_PER_IP',
    'RATE_LIMIT_EMAIL_PER_IP',
    'RATE_LIMIT_EMAIL_PER_ADDRESS',
  ]);
  for (const m of src.matchAll(/\brate\(\s*'([A-Z0-9_]+)'/g)) names.add(m[1]);
  const env: Record<string, string> = {};
  for (const n of names) env[n] = '9999999/1s';
  // Lockout counts failures only (every bench login succeeds); at their maximum all the same.
  Object.assign(env, { LOGIN_LOCK_AFTER_FAILURES: '999', LOGIN_LONG_LOCK_AFTER_FAILURES: '1000', LOGIN_MAX_FAILURES_PER_HOUR: '100' });
  return env;
}

/** API processes the app runs: one per core unless BENCH_APP_API_PROCESSES says otherwise. */
export function apiProcesses(): number {
  return Number(process.env.BENCH_APP_API_PROCESSES ?? os.availableParallelism?.() ?? os.cpus().length);
}

/** The access-token lifetime a deployment gets by default (the app's own default, from its config). */
export function defaultAccessTokenTtl(): number {
  const unused = randomBytes(48).toString('base64');
  return loadConfig({}, { jwtSecret: unused, tokenSecret: unused }).jwt.accessTtlSeconds;
}

export function appEnv(o: Options, databaseUrl: string, redisPrefix: string): NodeJS.ProcessEnv {
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
  for (const [k, v] of Object.entries(process.env))
    if (k.startsWith('BENCH_APP_') && v !== undefined) env[k.slice('BENCH_APP_'.length)] = v;
  return env;
}

/** The commit measured (and whether the tree had changes), so a result names its code. */
export function gitHead(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} (with uncommitted changes)` : head;
  } catch {
    return 'unknown';
  }
}
