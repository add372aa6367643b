import { isIPv6 } from 'node:net';
import { Next } from 'koa';
import { RateLimitedError } from '../errors';
import { Limit } from '../infra/rate-limits';
import { Ctx } from './types';

/** The 8 groups of an IPv6 address, "::" expanded and an embedded IPv4 tail counted as two. */
const ipv6Groups = (ip: string): string[] => {
  const [head, tail] = ip.split('::');
  const parts = (s: string | undefined) => (s ? s.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : []);
  const h = parts(head);
  const t = parts(tail);
  return tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
};

/**
 * Whom a per-IP limit counts: an IPv4 address (also when IPv4-mapped), or the /64 network of an
 * IPv6 address, since one subscriber usually holds a whole /64 and could otherwise rotate through it.
 */
export const ipBucket = (ip: string): string => {
  const address = ip.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1];
  if (!isIPv6(address)) return address;
  return `${ipv6Groups(address.toLowerCase())
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
};

/**
 * Counts the request against `limit` for the client (ctx.ip: the socket's address, or the one
 * the trusted proxies saw, see TRUST_PROXY); past it, 429 RATE_LIMITED with Retry-After. Either
 * way the answer states the limit and where the client stands, as the IETF RateLimit fields
 * (draft-ietf-httpapi-ratelimit-headers-11, structured-field lists: one item per limit, so a
 * route with two limits lists both), so a client can slow down before it is refused:
 * `RateLimit-Policy: "login-ip";q=30;w=60` and `RateLimit: "login-ip";r=29;t=60`.
 */
export const perIp =
  (limit: Limit) =>
  async (ctx: Ctx, next: Next): Promise<void> => {
    const standing = await limit.hit(ipBucket(ctx.ip));
    ctx.append('RateLimit-Policy', `"${limit.name}";q=${limit.rate.points};w=${limit.rate.durationSeconds}`);
    ctx.append('RateLimit', `"${limit.name}";r=${standing.remaining};t=${standing.resetSeconds}`);
    if (standing.exceeded) throw new RateLimitedError(limit.name, standing.resetSeconds);
    await next();
  };
