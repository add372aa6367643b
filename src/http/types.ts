import type { Redis } from 'ioredis';
import { Knex } from 'knex';
import { ParameterizedContext } from 'koa';
import { Logger } from 'pino';
import { Config } from '../config';
import type { ApiKeyPrincipal, ApiKeyVerifier } from '../commands/api-key/verify';
import { CommandContext, RequestMeta } from '../commands/context';
import type { Role } from '../events/user';
import { CheckpointWaiter } from '../projections/waiter';
import type { UserCache } from '../projections/user-cache';
import { Position } from '../eventstore/types';
import { PROJECTIONS } from '../projections';
import { auditProjection } from '../projections/audit';
import { RequestLimits } from '../infra/rate-limits';
import type { Metrics } from '../infra/metrics';
import type { Queues } from '../workers/queues';

/** Who is calling: a signed-in session, or an API key acting as its owner within its scopes and permissions. */
export type Principal = SessionPrincipal | ApiKeyPrincipal;

export interface SessionPrincipal {
  via: 'session';
  sub: string;
  sid: string;
  role: Role;
  sv: number;
  exp: number;
}

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
  /** Recently read `users` rows, evicted by the users projection's notifications. */
  users: UserCache;
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

/**
 * The read models a client reads right after a write. The audit log is left out: it is an
 * after-the-fact record, and waiting on it would tie every command to its slowest projection.
 */
export const FOLLOW_UP_READ_MODELS: readonly string[] = PROJECTIONS.map((p) => p.name).filter((n) => n !== auditProjection.name);

/**
 * Read your writes: hold the answer until the projections serving follow-up reads caught up
 * (all of FOLLOW_UP_READ_MODELS, or only those a route's answer and next reads depend on).
 */
export const caughtUp = (
  svc: HttpServices,
  position: Position | null,
  readModels: readonly string[] = FOLLOW_UP_READ_MODELS,
): Promise<boolean> => svc.waiter.whenProcessed(position, svc.config.readYourWritesTimeoutMs, readModels);
