import { Next } from 'koa';
import { Limit } from '../infra/rate-limits';
import { Ctx } from './types';

/**
 * Counts the request against `limit` for the client's IP (ctx.ip: the socket's address, or the
 * one the trusted proxies saw, see TRUST_PROXY); past it, 429 RATE_LIMITED with Retry-After.
 */
export const perIp =
  (limit: Limit) =>
  async (ctx: Ctx, next: Next): Promise<void> => {
    await limit.hit(ctx.ip);
    await next();
  };
