import pino from 'pino';
import { Writable } from 'node:stream';
import { Config, Env, loadConfig } from '../../src/config';
import { startSystem, System, ProcessRole } from '../../src/system';
import { createTestDatabase, TestDatabase, uniquePrefix } from './db';
import { checkResponse } from './openapi-conformance';
import { SmtpCatcher } from './smtp';

export interface HttpResult<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

export interface RequestOptions {
  /** false: skip the check of the response against the OpenAPI document (a raw, non-API path). */
  conformance?: boolean;
}

export interface TestStack {
  system: System;
  config: Config;
  db: TestDatabase;
  smtp: SmtpCatcher;
  url: string;
  /** Every log line the app wrote, for tests that check what logs contain. */
  logs: string[];
  /** Every response is checked against the OpenAPI document (tests/helpers/openapi-conformance.ts) unless `options.conformance` is false. */
  request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
    options?: RequestOptions,
  ): Promise<HttpResult<T>>;
  /**
   * Waits until every projection has processed the log up to now: for a test that reads a read
   * table itself after a request that does not wait for it (a sign-up with verification on).
   */
  projected(): Promise<void>;
  /** Starts another app process on the same database and Redis prefix (e.g. a second projector). */
  startAnother(roles: ProcessRole[], env?: Env): Promise<System>;
  stop(): Promise<void>;
}

const TEST_SECRETS = {
  jwtSecret: 'test-jwt-secret-0123456789abcdefghijklmnopqrstuvwxyz',
  tokenSecret: 'test-token-secret-0123456789abcdefghijklmnopqrstuvwxyz',
};

export const TEST_PASSWORD = 'correct horse battery staple';

/**
 * A whole app on a fresh database, its own Redis prefix and a real SMTP catcher, as one
 * process with every role (API, projector, workers), like `npm start`.
 */
export async function startStack(label: string, env: Env = {}, roles: ProcessRole[] = ['api', 'projector', 'worker']): Promise<TestStack> {
  const db = await createTestDatabase(label);
  const smtp = new SmtpCatcher();
  const smtpUrl = await smtp.start();
  const prefix = uniquePrefix(label);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'info' }, sink);
  const baseEnv: Env = {
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_PREFIX: prefix,
    SMTP_URL: smtpUrl,
    PORT: '0',
    HOST: '127.0.0.1',
    BCRYPT_COST: '4',
    DB_POOL_MAX: '4',
    APP_BASE_URL: 'https://id.example.test',
    // Every request of a test comes from 127.0.0.1: per-IP and per-address limits are lifted
    // here and set low by the tests of the limits themselves.
    RATE_LIMIT_LOGIN_PER_IP: '100000/1m',
    RATE_LIMIT_REGISTER_PER_IP: '100000/1m',
    RATE_LIMIT_REFRESH_PER_IP: '100000/1m',
    RATE_LIMIT_EMAIL_PER_IP: '100000/1m',
    RATE_LIMIT_EMAIL_PER_ADDRESS: '100000/1m',
    ...env,
  };
  const config = loadConfig(baseEnv, TEST_SECRETS);
  const options = { jobBackoffMs: 50 };
  const system = await startSystem(config, new Set(roles), log, options);
  const others: System[] = [];
  const url = system.url ?? '';
  return {
    system,
    config,
    db,
    smtp,
    url,
    logs,
    async request(method, path, body, headers = {}, options = {}) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : {};
      } catch {
        // not JSON: keep the text
      }
      if (options.conformance !== false)
        checkResponse(method, path, res.status, res.headers.get('content-type'), text === '' ? undefined : parsed, res.headers);
      return { status: res.status, body: parsed as never, headers: res.headers };
    },
    async projected() {
      // The last event committed (the store's headPosition is the last one readable, which other
      // transactions of the cluster may hold back).
      const last = await system.knex.raw(
        `SELECT transaction_id::text AS commit, global_position::text AS prepare FROM es_events ORDER BY transaction_id DESC, global_position DESC LIMIT 1`,
      );
      const row = last.rows[0] as { commit: string; prepare: string } | undefined;
      const position = row ? { commit: BigInt(row.commit), prepare: BigInt(row.prepare) } : null;
      if (!(await system.services!.waiter.whenProcessed(position, 15000))) throw new Error('the projections did not catch up with the log');
    },
    async startAnother(moreRoles, moreEnv = {}) {
      const s = await startSystem(loadConfig({ ...baseEnv, ...moreEnv }, TEST_SECRETS), new Set(moreRoles), log, options);
      others.push(s);
      return s;
    },
    async stop() {
      for (const o of others) await o.stop().catch(() => undefined);
      await system.stop();
      await smtp.stop();
      await db.drop();
    },
  };
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
