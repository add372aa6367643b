import { Client } from 'pg';
import { Logger } from 'pino';
import { ConfigError, loadConfig, Config } from '../config';
import { EMBEDDED_PG_DEFAULT_PORT, startEmbeddedPostgres } from '../infra/embedded-postgres';
import { createLogger, logFormatFor } from '../infra/logger';
import { loadOrCreateDevSecrets } from '../infra/secrets';

export interface CliEnv {
  config: Config & { databaseUrl: string };
  log: Logger;
  cleanup(): Promise<void>;
}

const canConnect = async (url: string): Promise<boolean> => {
  const c = new Client({ connectionString: url, connectionTimeoutMillis: 1500 });
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
};

/**
 * Config for command-line tools. With no DATABASE_URL they use the embedded PostgreSQL: the
 * running service's if it is up, otherwise one started for the duration of the command.
 */
export async function cliEnv(): Promise<CliEnv> {
  const env = process.env;
  const dataDir = env.DATA_DIR ?? '.data';
  let config: Config;
  try {
    config = loadConfig(env, env.NODE_ENV === 'production' ? undefined : loadOrCreateDevSecrets(dataDir));
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(1);
    }
    throw e;
  }
  // Tools keep stdout for their output; their log goes to stderr, readable when that is a terminal.
  const tty = process.stderr.isTTY === true;
  const log = createLogger({
    level: env.LOG_LEVEL ?? 'warn',
    format: logFormatFor(config.logFormat, config.env, tty),
    destination: 2,
    colorize: tty,
  });
  if (config.databaseUrl) return { config: { ...config, databaseUrl: config.databaseUrl }, log, cleanup: async () => undefined };
  const port = Number(env.EMBEDDED_PG_PORT ?? EMBEDDED_PG_DEFAULT_PORT);
  const running = `postgres://postgres:postgres@127.0.0.1:${port}/iam`;
  if (await canConnect(running)) return { config: { ...config, databaseUrl: running }, log, cleanup: async () => undefined };
  const pg = await startEmbeddedPostgres(dataDir, log, port);
  return { config: { ...config, databaseUrl: pg.url }, log, cleanup: () => pg.stop() };
}

export const wantsHelp = (argv: string[]): boolean => argv.includes('--help') || argv.includes('-h');

/** Runs a command-line tool: its error message (not a stack) and exit code 1 on failure. */
export function runCli(main: () => Promise<void> | void): void {
  Promise.resolve()
    .then(main)
    .catch((err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    });
}
