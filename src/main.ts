import pino from 'pino';
import { ConfigError, loadConfig } from './config';
import { startEmbeddedPostgres } from './infra/embedded-postgres';
import { ensureRedis } from './infra/redis';
import { loadOrCreateDevSecrets } from './infra/secrets';
import { bootstrapAdmin } from './commands/user/admin-bootstrap';
import { ProcessRole, startSystem } from './system';

const ROLES: Record<string, ProcessRole[]> = {
  all: ['api', 'projector', 'worker'],
  api: ['api'],
  projector: ['projector'],
  worker: ['worker'],
};

const USAGE = `Usage: node dist/main.js [all|api|projector|worker]

  all        the API, the projector and the workers in one process (default; npm start)
  api        the HTTP API only (npm run start:api)
  projector  projections and reactors (npm run start:projector)
  worker     BullMQ processors: email, session revocation (npm run start:worker)

Configuration comes from the environment; see README.md.`;

async function main(): Promise<void> {
  const arg = process.argv[2] ?? 'all';
  if (arg === '--help' || arg === '-h' || !ROLES[arg]) {
    console.log(USAGE);
    process.exit(ROLES[arg] || arg === '--help' || arg === '-h' ? 0 : 2);
  }
  const env = process.env;
  const dataDir = env.DATA_DIR ?? '.data';
  const production = env.NODE_ENV === 'production';
  let config;
  try {
    config = loadConfig(env, production ? undefined : loadOrCreateDevSecrets(dataDir));
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(1);
    }
    throw e;
  }
  const log = pino({
    level: config.logLevel,
    redact: { paths: ['*.password', '*.currentPassword', '*.newPassword', '*.token', '*.refreshToken', '*.accessToken', 'req.headers.authorization', 'req.headers.cookie'], censor: '[redacted]' },
  });

  const cleanups: (() => Promise<void>)[] = [];
  if (!config.databaseUrl) {
    const pg = await startEmbeddedPostgres(dataDir, log, Number(env.EMBEDDED_PG_PORT ?? 54329));
    cleanups.push(() => pg.stop());
    config = { ...config, databaseUrl: pg.url };
    log.info('DATABASE_URL not set: using embedded PostgreSQL under %s', dataDir);
  }
  const redis = await ensureRedis(config.redisUrl, dataDir, log);
  cleanups.push(() => redis.stop());
  config = { ...config, redisUrl: redis.url };

  const system = await startSystem(config, new Set(ROLES[arg]), log);
  if (system.services) await bootstrapAdmin(system.services.cmd, log);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 25_000);
    force.unref();
    try {
      await system.stop();
      for (const c of cleanups.reverse()) await c();
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
