import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, mkdirSync } from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import type { Logger } from 'pino';

type Log = Pick<Logger, 'info' | 'debug'>;

export interface RedisHandle {
  url: string;
  /** Stops the server this process started; a no-op when Redis was already running. */
  stop(): Promise<void>;
}

const DEFAULT_PORT = 6379;
const PROBE_TIMEOUT_MS = 1000;
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const RECENT_LINES = 20;

/** Hosts a server spawned here can listen on, with the addresses to bind (`-` marks optional). */
const LOCAL_BINDS: Record<string, string[]> = {
  localhost: ['127.0.0.1', '-::1'],
  '127.0.0.1': ['127.0.0.1'],
  '[::1]': ['::1'],
};

const redacted = (url: string): string => {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
};

type Probe = { up: true } | { up: false; reason: string };

/**
 * Asks `url` for PONG once, without retrying. A server that answers with an error (wrong password,
 * say) is there but unusable; that is thrown rather than reported as down, so nothing is spawned.
 */
async function probe(url: string): Promise<Probe> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: PROBE_TIMEOUT_MS,
    commandTimeout: PROBE_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    enableReadyCheck: false,
  });
  // The socket's own error (ECONNREFUSED...) explains more than the rejection ("Connection is
  // closed."); listening also keeps ioredis from logging it as unhandled.
  let socketError: Error | null = null;
  client.on('error', (e: Error) => {
    socketError = e;
  });
  try {
    await client.connect();
    await client.ping();
    return { up: true };
  } catch (e) {
    // A refused handshake (HELLO/AUTH) surfaces only as an error event; a refused PING, as e.
    const cause: unknown = socketError ?? e;
    if (cause instanceof Error && cause.name === 'ReplyError') {
      throw new Error(
        `Redis at ${redacted(url)} answered but refused the connection: ${cause.message} Check the credentials in REDIS_URL.`,
      );
    }
    return { up: false, reason: cause instanceof Error ? cause.message : String(cause) };
  } finally {
    client.disconnect();
  }
}

function onPath(command: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      accessSync(path.join(dir, command), fsConstants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const exited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

async function stopChild(child: ChildProcess): Promise<void> {
  if (exited(child)) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  try {
    await gone;
  } finally {
    clearTimeout(timer);
  }
}

const unavailable = (url: string, why: string): Error =>
  new Error(
    `Redis is not reachable at ${redacted(url)} and ${why}. ` +
      'Install Redis (Debian/Ubuntu: `apt-get install redis-server`; macOS: `brew install redis`) ' +
      'or set REDIS_URL to a running Redis server.',
  );

/**
 * Whether a missing Redis may be replaced by one started here: only in development with no
 * REDIS_URL. A Redis the operator named is theirs; a stand-in that persists nothing would lose
 * the queues and the revocation list at every restart without anyone noticing.
 */
export const mayStartOwnRedis = (env: Record<string, string | undefined>): boolean =>
  (env.REDIS_URL ?? '').trim() === '' && (env.NODE_ENV ?? 'development') === 'development';

/**
 * Makes sure a Redis server answers at `url`: uses a running one, or (when `startIfDown`), for a
 * local URL with `redis-server` on the PATH, starts one on that port (data in `<dataDir>/redis`,
 * nothing persisted) that lives as long as this process or until `stop()`.
 */
export async function ensureRedis(url: string, dataDir: string, log: Log, startIfDown: boolean): Promise<RedisHandle> {
  const first = await probe(url);
  if (first.up) return { url, stop: async () => undefined };
  if (!startIfDown) {
    throw new Error(
      `Redis is not reachable at ${redacted(url)} (${first.reason}). ` +
        'A Redis is started here only in development with REDIS_URL unset; start the Redis that REDIS_URL names, or correct REDIS_URL.',
    );
  }

  const u = new URL(url);
  const binds = LOCAL_BINDS[u.hostname];
  if (u.protocol !== 'redis:' || binds === undefined) {
    throw unavailable(url, `is not a local plain redis:// URL, so none is started here (${first.reason})`);
  }
  if (!onPath('redis-server')) {
    throw unavailable(url, 'redis-server is not on the PATH');
  }

  const port = u.port === '' ? DEFAULT_PORT : Number(u.port);
  const dir = path.resolve(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const args = ['--port', String(port), '--bind', ...binds, '--dir', dir, '--save', '', '--appendonly', 'no'];
  if (u.password !== '') args.push('--requirepass', decodeURIComponent(u.password));

  log.info({ port, dir }, 'starting redis-server');
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: false });
  const recent: string[] = [];
  const remember = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      recent.push(line);
      log.debug({ component: 'redis-server' }, line);
    }
    recent.splice(0, Math.max(0, recent.length - RECENT_LINES));
  };
  child.stdout?.on('data', remember);
  child.stderr?.on('data', remember);
  let spawnError: Error | null = null;
  child.on('error', (e) => {
    spawnError = e;
  });
  // A server we started must not outlive us, even when we exit without calling stop().
  const killOnExit = (): void => {
    if (!exited(child)) child.kill('SIGTERM');
  };
  process.on('exit', killOnExit);

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => (stopping ??= stopChild(child).finally(() => process.off('exit', killOnExit)));

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (spawnError !== null || exited(child)) {
      process.off('exit', killOnExit);
      // Another process may have started one on the same port at the same moment.
      if ((await probe(url)).up) return { url, stop: async () => undefined };
      const cause = spawnError ?? new Error(`redis-server exited with ${child.exitCode ?? child.signalCode}`);
      throw new Error(
        `redis-server could not be started on port ${port} (is something else using it?): ${cause.message}\n${recent.join('\n')}`,
        { cause },
      );
    }
    const last = await probe(url);
    if (last.up) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server did not answer on port ${port} within ${START_TIMEOUT_MS} ms (${last.reason})\n${recent.join('\n')}`);
    }
    await sleep(100);
  }
  log.info({ port }, 'redis-server started');
  return { url, stop };
}
