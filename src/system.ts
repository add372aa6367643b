import http from 'node:http';
import { AddressInfo } from 'node:net';
import { Worker } from 'bullmq';
import Redis from 'ioredis';
import knexFactory, { Knex } from 'knex';
import { Logger } from 'pino';
import { Config } from './config';
import { CommandContext } from './commands/context';
import { EventStoreDbEventStore } from './eventstore/esdb';
import { PostgresEventStore } from './eventstore/postgres';
import { comparePositions, EventStore } from './eventstore/types';
import { userIdOf } from './events/user';
import { createApp } from './http/app';
import { createApiKeyVerifier } from './commands/api-key/verify';
import { seedAtStart } from './commands/seed';
import { HttpServices, ReadinessCheck } from './http/types';
import { AccessTokens } from './infra/jwt';
import { bounded } from './infra/bounded';
import { instrumentStore, Metrics } from './infra/metrics';
import { PasswordHasher } from './infra/password-hasher';
import { LoginThrottle, RequestLimits } from './infra/rate-limits';
import { RevocationList } from './infra/revocations';
import { revocationsFromLog } from './commands/session/revocations-from-log';
import { positionOf, projectionLags, readCheckpoints } from './projections/checkpoints';
import { PROJECTIONS } from './projections';
import { prepareReadModels, Projector } from './projections/projector';
import { CheckpointWaiter } from './projections/waiter';
import { UserCache } from './projections/user-cache';
import { findUserById, USERS_CHANGED_CHANNEL, usersProjection } from './projections/users';
import { createMailer, Mailer } from './workers/mailer';
import { startProcessors } from './workers/processors';
import { Queues } from './workers/queues';
import { emailReactor, sessionsReactor } from './workers/reactors';

export type ProcessRole = 'api' | 'projector' | 'worker';

export { PROJECTIONS };

export interface System {
  config: Config;
  knex: Knex;
  store: EventStore;
  redis: Redis;
  queues: Queues;
  projector: Projector | null;
  server: http.Server | null;
  /** Base URL of the HTTP server when the api role runs. */
  url: string | null;
  services: HttpServices | null;
  stop(): Promise<void>;
}

export interface SystemOptions {
  mailer?: Mailer;
  /** Queue retry tuning (tests shorten the backoff). */
  jobAttempts?: number;
  jobBackoffMs?: number;
}

export function createEventStore(config: Config, databaseUrl: string): EventStore {
  return config.eventStoreUrl
    ? EventStoreDbEventStore.fromConnectionString(config.eventStoreUrl)
    : PostgresEventStore.fromConfig({ connectionString: databaseUrl, max: config.dbPoolMax });
}

/** How long a Redis command may take before it fails (a Redis that accepts connections but does not answer). */
const REDIS_COMMAND_TIMEOUT_MS = 1000;

/**
 * The connection requests use (revocation checks, rate limits, lockout). While Redis is away
 * its commands fail at once (no offline queue, no retries) and a command that gets no answer
 * fails after a second, so a request answers 503 within moments instead of hanging.
 */
export const connectRedis = (url: string): Redis =>
  quiet(
    new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: REDIS_COMMAND_TIMEOUT_MS, connectTimeout: 2000 }),
  );

/** Failures reach the commands that meet them; unheard, ioredis would print each reconnect attempt's. */
const quiet = (redis: Redis): Redis => redis.on('error', () => undefined);

/** Without an offline queue nothing may be sent before the connection is up: wait for it. */
const connected = (redis: Redis): Promise<void> =>
  redis.status === 'ready' ? Promise.resolve() : new Promise((resolve) => redis.once('ready', () => resolve()));

export const createKnex = (databaseUrl: string, max = 10): Knex =>
  knexFactory({ client: 'pg', connection: databaseUrl, pool: { min: 0, max } });

/**
 * Starts the roles asked for in this process. `npm start` runs all three; production runs
 * them apart (start:api, start:projector, start:worker) and scales each on its own.
 */
export async function startSystem(
  config: Config,
  roles: ReadonlySet<ProcessRole>,
  log: Logger,
  options: SystemOptions = {},
): Promise<System> {
  const databaseUrl = config.databaseUrl;
  if (!databaseUrl) throw new Error('startSystem needs a database URL (embedded PostgreSQL is started by main)');
  const knex = createKnex(databaseUrl, config.dbPoolMax);
  const rawStore = createEventStore(config, databaseUrl);
  if (rawStore instanceof PostgresEventStore) await rawStore.migrate();
  const metrics = new Metrics();
  const store = instrumentStore(rawStore, metrics);
  const redis = connectRedis(config.redisUrl);
  const queues = new Queues({
    redisUrl: config.redisUrl,
    prefix: config.redisPrefix,
    attempts: options.jobAttempts,
    backoffMs: options.jobBackoffMs,
  });
  await connected(redis);
  const hasher = new PasswordHasher(config.bcryptCost, undefined, config.passwordHashNice);
  const subscriber = roles.has('api') ? quiet(new Redis(config.redisUrl, { maxRetriesPerRequest: null })) : null;
  const revocations = new RevocationList(
    redis,
    config.redisPrefix,
    config.jwt.accessTtlSeconds + 60,
    subscriber,
    (since) => revocationsFromLog(store, since),
    log,
  );
  const cmd: CommandContext = {
    config,
    store,
    hasher,
    revocations,
    accessTokens: new AccessTokens(config.jwt),
    loginThrottle: new LoginThrottle(redis, config.redisPrefix, config.rateLimits.loginFailures),
    clock: () => new Date(),
  };

  const waiter = new CheckpointWaiter(
    knex,
    databaseUrl,
    PROJECTIONS.map((p) => p.name),
    log,
  );
  const userCache = new UserCache((id) => findUserById(knex, id));
  if (roles.has('api')) {
    waiter.listen(
      USERS_CHANGED_CHANNEL,
      (payload) => userCache.onNotification(payload),
      (live) => userCache.setLive(live),
    );
  }
  let projector: Projector | null = null;
  if (roles.has('projector')) {
    projector = new Projector(
      {
        knex,
        store,
        connectionString: databaseUrl,
        log,
        batchSize: config.projectionBatchSize,
        onCheckpoint: (name, pos) => waiter.update(name, pos),
        // This process's cache is evicted before the checkpoint it waits on is reported.
        onCommitted: (name, events) => {
          if (name === usersProjection.name) userCache.evict(events.map((e) => userIdOf(e.streamId)));
        },
      },
      PROJECTIONS,
      [emailReactor(queues, store), sessionsReactor(queues)],
    );
    await projector.prepare();
    projector.start();
  } else {
    await prepareReadModels(knex, PROJECTIONS);
  }

  let workers: Worker[] = [];
  let mailer: Mailer | null = null;
  if (roles.has('worker')) {
    mailer = options.mailer ?? createMailer(config.smtpUrl, config.mailFrom, log, { logContent: config.env !== 'production' });
    workers = startProcessors({
      settings: queues.settings,
      redis,
      mailer,
      templates: {
        productName: config.productName,
        appBaseUrl: config.appBaseUrl,
        resetPasswordUrl: config.resetPasswordUrl,
        tokenSecret: config.tokenSecret,
      },
      store,
      revocations,
      log,
    });
  }

  let server: http.Server | null = null;
  let url: string | null = null;
  let services: HttpServices | null = null;
  if (roles.has('api')) {
    await waiter.start();
    await revocations.start();
    metrics.watchProjections(() => projectionLags(knex));
    metrics.watchQueues(queues.all);
    services = {
      config,
      cmd,
      knex,
      redis,
      waiter,
      users: userCache,
      log,
      apiKeys: createApiKeyVerifier(cmd),
      metrics,
      queues,
      limits: new RequestLimits(redis, config.redisPrefix, config.rateLimits),
      readiness: () => readiness(knex, redis, store),
    };
    await seedAtStart(cmd);
    const app = createApp(services);
    server = http.createServer(app.callback());
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve) => server!.listen(config.port, config.host, resolve));
    const addr = server.address() as AddressInfo;
    url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${addr.port}`;
    log.info({ url, roles: [...roles] }, 'listening');
  }

  const stop = async () => {
    // Stop taking requests first, then finish the batch in hand, then close pools. Each step is
    // bounded: a dependency that is down must not keep the process from exiting.
    const step = (p: Promise<unknown>, ms = 10_000) => bounded(p, ms).catch((err) => log.warn({ err }, 'shutdown step failed'));
    if (server) {
      const s = server;
      await step(
        new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeIdleConnections();
        }),
      );
    }
    await step(projector?.stop() ?? Promise.resolve());
    await step(Promise.all(workers.map((w) => w.close())), 5000);
    mailer?.close();
    await step(waiter.stop());
    await step(queues.close(), 3000);
    await step(hasher.close());
    await step(store.close());
    await step(knex.destroy());
    revocations.stop();
    subscriber?.disconnect();
    redis.disconnect();
  };

  log.info({ roles: [...roles], eventStore: config.eventStoreUrl ? 'eventstoredb' : 'postgres' }, 'started');
  let stopped: Promise<void> | null = null;
  // Idempotent: a second signal (or a supervisor's) joins the shutdown under way.
  const stopOnce = () => (stopped ??= stop());
  return { config, knex, store, redis, queues, projector, server, url, services, stop: stopOnce };
}

const MAX_LAG_SECONDS = 30;

async function check(name: string, f: () => Promise<string | void>): Promise<ReadinessCheck> {
  try {
    const detail = await f();
    return { name, ok: true, ...(detail ? { detail } : {}) };
  } catch (e) {
    return { name, ok: false, detail: (e as Error).message };
  }
}

/** Ready when PostgreSQL, Redis and the event store answer and no projection is stuck behind. */
async function readiness(knex: Knex, redis: Redis, store: EventStore): Promise<ReadinessCheck[]> {
  const withTimeout = <T>(p: Promise<T>): Promise<T> => bounded(p, 2000);
  return Promise.all([
    check('postgres', async () => {
      await withTimeout(knex.raw('SELECT 1'));
    }),
    check('redis', async () => {
      await withTimeout(redis.ping());
    }),
    check('eventstore', () => withTimeout(store.ping())),
    check('projections', async () => {
      const head = await withTimeout(store.headPosition());
      if (!head) return;
      const behind = (await withTimeout(readCheckpoints(knex))).filter((row) => {
        if (row.name.includes('#') || !PROJECTIONS.some((p) => p.name === row.name)) return false;
        const p = positionOf(row);
        const lagging = !p || comparePositions(p, head) < 0;
        return lagging && Date.now() - new Date(row.updated_at).getTime() > MAX_LAG_SECONDS * 1000;
      });
      if (behind.length) throw new Error(`behind by more than ${MAX_LAG_SECONDS}s: ${behind.map((b) => b.name).join(', ')}`);
    }),
  ]);
}
