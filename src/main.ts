import cluster from 'node:cluster';
import { ConfigError, loadConfig } from './config';
import { startEmbeddedPostgres } from './infra/embedded-postgres';
import { createLogger, logFormatFor } from './infra/logger';
import { ensureRedis, mayStartOwnRedis } from './infra/redis';
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
  const tty = process.stdout.isTTY === true;
  const log = createLogger({
    level: config.logLevel,
    format: logFormatFor(config.logFormat, config.env, tty),
    destination: 1,
    colorize: tty,
  });

  // A forked API process: the primary already prepared the database and Redis.
  if (cluster.isWorker) {
    const system = await startSystem(config, new Set<ProcessRole>(['api']), log);
    if (system.services && env.IAM_API_PROCESS_INDEX === '0') await bootstrapAdmin(system.services.cmd, log);
    const stopWorker = () => void system.stop().finally(() => process.exit(0));
    process.on('SIGTERM', stopWorker);
    process.on('SIGINT', stopWorker);
    return;
  }

  const cleanups: (() => Promise<void>)[] = [];
  if (!config.databaseUrl) {
    const pg = await startEmbeddedPostgres(dataDir, log, Number(env.EMBEDDED_PG_PORT ?? 54329));
    cleanups.push(() => pg.stop());
    config = { ...config, databaseUrl: pg.url };
    log.info('DATABASE_URL not set: using embedded PostgreSQL under %s', dataDir);
  }
  const redis = await ensureRedis(config.redisUrl, dataDir, log, mayStartOwnRedis(env));
  cleanups.push(() => redis.stop());
  config = { ...config, redisUrl: redis.url };

  // API_PROCESSES > 1: the API runs in that many forked processes sharing the port (one per
  // core); this process keeps the other roles (projector, workers) and supervises them.
  const roles = new Set(ROLES[arg]);
  const forks = roles.has('api') && config.apiProcesses > 1 ? config.apiProcesses : 0;
  if (forks) roles.delete('api');
  const system = await startSystem(config, roles, log);
  if (system.services) await bootstrapAdmin(system.services.cmd, log);
  const children = new Map<number, number>();
  let stopping = false;
  const fork = (index: number) => {
    const child = cluster.fork({
      DATABASE_URL: config.databaseUrl ?? '',
      REDIS_URL: config.redisUrl,
      IAM_API_PROCESS_INDEX: String(index),
    });
    children.set(child.id, index);
    child.on('exit', (code, signal) => {
      children.delete(child.id);
      if (stopping) return;
      log.error({ code, signal, index }, 'API process exited; starting another');
      setTimeout(() => fork(index), 1000).unref();
    });
  };
  for (let i = 0; i < forks; i++) fork(i);

  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 25_000);
    force.unref();
    try {
      // API processes first (they stop taking requests), then this process's roles.
      await Promise.all(
        Object.values(cluster.workers ?? {}).map(
          (w) =>
            new Promise<void>((resolve) => {
              if (!w || w.isDead()) return resolve();
              w.once('exit', () => resolve());
              w.process.kill('SIGTERM');
            }),
        ),
      );
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
