import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { DomainError, RateLimitedError } from '../commands/errors';
import { Rate, RateLimits as RateLimitsConfig } from '../config';

/**
 * Rate limits and account lockout on Redis (rate-limiter-flexible), shared by every API
 * process, with keys under `<REDIS_PREFIX>:rl:<limit>:`. What is counted (an IP, an address,
 * an account) is hashed into the key, so key names carry no addresses or names in the clear.
 */

const HOUR = 3600;

const secondsOf = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/** What is counted, as it appears in a key. */
export const hashedKey = (value: string): string => createHash('sha256').update(value).digest('hex').slice(0, 40);

/** A store failure is a dependency being down (503), not a reason to let the request through. */
const unavailable = (): never => {
  throw new DomainError('UNAVAILABLE', 'A dependency is unavailable; try again shortly');
};

const limiter = (redis: Redis, prefix: string, name: string, opts: { points: number; duration: number; blockDuration?: number }): RateLimiterRedis =>
  new RateLimiterRedis({ storeClient: redis, keyPrefix: `${prefix}:rl:${name}`, ...opts });

/** `points` hits per window of `durationSeconds`; the hit past that is refused until the window ends. */
export class Limit {
  private readonly rl: RateLimiterRedis;

  constructor(
    redis: Redis,
    prefix: string,
    readonly name: string,
    rate: Rate,
  ) {
    this.rl = limiter(redis, prefix, name, { points: rate.points, duration: rate.durationSeconds });
  }

  /** Counts a hit for `key` (an IP, an address); throws RATE_LIMITED (with when to retry) past the limit. */
  async hit(key: string): Promise<void> {
    try {
      await this.rl.consume(hashedKey(key));
    } catch (e) {
      if (e instanceof RateLimiterRes) throw new RateLimitedError(this.name, secondsOf(e.msBeforeNext));
      unavailable();
    }
  }

  /** Counts a hit; false past the limit (for limits that must not show in the answer). */
  async allows(key: string): Promise<boolean> {
    try {
      await this.rl.consume(hashedKey(key));
      return true;
    } catch (e) {
      if (e instanceof RateLimiterRes) return false;
      return unavailable();
    }
  }
}

/** The per-IP and per-address limits the HTTP layer applies. */
export class RequestLimits {
  readonly loginPerIp: Limit;
  readonly registerPerIp: Limit;
  readonly refreshPerIp: Limit;
  readonly emailPerIp: Limit;
  private readonly emailPerAddress: Limit;

  constructor(redis: Redis, prefix: string, c: RateLimitsConfig) {
    this.loginPerIp = new Limit(redis, prefix, 'login-ip', c.loginPerIp);
    this.registerPerIp = new Limit(redis, prefix, 'register-ip', c.registerPerIp);
    this.refreshPerIp = new Limit(redis, prefix, 'refresh-ip', c.refreshPerIp);
    this.emailPerIp = new Limit(redis, prefix, 'email-ip', c.emailPerIp);
    this.emailPerAddress = new Limit(redis, prefix, 'email-address', c.emailPerAddress);
  }

  /** Whether one more email may go to this (normalised) address now. */
  mayEmail(normalisedEmail: string): Promise<boolean> {
    return this.emailPerAddress.allows(normalisedEmail);
  }
}

/**
 * Progressive lockout of one account, whatever the IP (NIST SP 800-63B-4 3.2.2, OWASP ASVS 5.0 V6.3):
 * `lockAfter` consecutive failures lock it for `lockSeconds`, `longLockAfter` for
 * `longLockSeconds`; a correct password clears the consecutive count. Independently, at most
 * `maxPerHour` failures an hour, then an hour's lock: each attempt books a point before the
 * password is checked (so a burst of parallel guesses cannot overshoot), given back when it
 * succeeds. Sign-in and re-entered current passwords (change, email change, deactivate) share it.
 */
export class LoginThrottle {
  private readonly short: RateLimiterRedis;
  private readonly long: RateLimiterRedis;
  private readonly hourly: RateLimiterRedis;

  constructor(redis: Redis, prefix: string, c: RateLimitsConfig['loginFailures']) {
    // Blocked once consumed > points: `lockAfter - 1` points means the lockAfter-th failure locks.
    this.short = limiter(redis, prefix, 'login-fail-short', { points: c.lockAfter - 1, duration: Math.max(HOUR, c.lockSeconds), blockDuration: c.lockSeconds });
    this.long = limiter(redis, prefix, 'login-fail-long', { points: c.longLockAfter - 1, duration: Math.max(HOUR, c.longLockSeconds), blockDuration: c.longLockSeconds });
    this.hourly = limiter(redis, prefix, 'login-fail-hour', { points: c.maxPerHour, duration: HOUR, blockDuration: HOUR });
  }

  private static locked(l: RateLimiterRedis, r: RateLimiterRes | null): number {
    return r !== null && r.consumedPoints > l.points ? r.msBeforeNext : 0;
  }

  /** Before the password is checked: refuses a locked account and books the attempt. */
  async admit(account: string): Promise<void> {
    const key = hashedKey(account);
    let lockedMs = 0;
    try {
      const [s, l] = await Promise.all([this.short.get(key), this.long.get(key)]);
      lockedMs = Math.max(LoginThrottle.locked(this.short, s), LoginThrottle.locked(this.long, l));
    } catch {
      unavailable();
    }
    if (lockedMs > 0) throw new RateLimitedError('login-account', secondsOf(lockedMs), 'Too many failed sign-ins for this account; try again later');
    try {
      await this.hourly.consume(key);
    } catch (e) {
      if (e instanceof RateLimiterRes) throw new RateLimitedError('login-account-hourly', secondsOf(e.msBeforeNext), 'Too many failed sign-ins for this account; try again later');
      unavailable();
    }
  }

  async failed(account: string): Promise<void> {
    const key = hashedKey(account);
    const results = await Promise.allSettled([this.short.consume(key), this.long.consume(key)]);
    // A rejection with a RateLimiterRes is the lock starting, which is the point; others are store errors.
    for (const r of results) if (r.status === 'rejected' && !(r.reason instanceof RateLimiterRes)) unavailable();
  }

  async succeeded(account: string): Promise<void> {
    const key = hashedKey(account);
    try {
      await Promise.all([this.short.delete(key), this.long.delete(key), this.hourly.reward(key, 1)]);
    } catch {
      unavailable();
    }
  }
}
