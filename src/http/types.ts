import type { Redis } from 'ioredis';
import { Knex } from 'knex';
import { ParameterizedContext } from 'koa';
import { Logger } from 'pino';
import { Config } from '../config';
import { CommandContext, RequestMeta } from '../commands/context';
import { CheckpointWaiter } from '../projections/waiter';
import { Position } from '../eventstore/types';
import { RequestLimits } from '../infra/rate-limits';
import type { ApiKeyVerifier, Principal } from './auth';
import type { Metrics } from '../infra/metrics';
import type { Queues } from '../workers/queues';

export interface ReadinessCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

/** Everything a route may use; built once by src/system.ts. */
export interface HttpServices {
  config: Config;
  cmd: CommandContext;
  knex: Knex;
  redis: Redis;
  waiter: CheckpointWaiter;
  log: Logger;
  apiKeys: ApiKeyVerifier;
  metrics: Metrics;
  queues: Queues;
  /** Per-IP and per-address rate limits. */
  limits: RequestLimits;
  readiness(): Promise<ReadinessCheck[]>;
}

export interface AppState {
  requestId: string;
  log: Logger;
  meta: RequestMeta;
  auth?: Principal;
}

export type Ctx = ParameterizedContext<AppState>;

/** Read your writes: hold the answer until the projections serving follow-up reads caught up. */
export const caughtUp = (svc: HttpServices, position: Position | null): Promise<boolean> =>
  svc.waiter.whenProcessed(position, svc.config.readYourWritesTimeoutMs);
