import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { DomainError, RateLimitedError } from '../errors';
import { Rate, RateLimits as RateLimitsConfig } from '../config';

/**
 * Rate limits and account lockout on Redis (rate-limiter-flexible), shared by every API
 * process, with keys under `<REDIS_PREFIX>:rl:<limit>:`. What is counted (an IP, an address,
 * an account) is hashed into the key, so key names carry no addresses or names in the clear.
 */

const HOUR = 3600;

/** How long an attempt waits for the attempts in flight ahead of it to settle (a compare takes a bcrypt's time). */
export const ADMIT_WAIT_MS = 5000;

const secondsOf = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/** What is counted, as it appears in a key. */
export const hashedKey = (value: string): string => createHash('sha256').update(value).digest('hex').slice(0, 40);

/** A store failure is a dependency being down (503), not a reason to let the request through. */
const unavailable = (): never => {
  throw new DomainError('UNAVAILABLE', 'A dependency is unavailable; try again shortly');
};

const limiter = (
  redis: Redis,
  prefix: string,
  name: string,
  opts: { points: number; duration: number; blockDuration?: number },
): RateLimiterRedis => new RateLimiterRedis({ storeClient: redis, keyPrefix: `${prefix}:rl:${name}`, ...opts });

/** Where a client stands against a limit once one more hit is counted. */
export interface Standing {
  /** Hits left in this window (0 once past the limit). */
  remaining: number;
  /** Seconds until the window ends and the count starts again. */
  resetSeconds: number;
  exceeded: boolean;
}

/** `points` hits per window of `durationSeconds`; the hit past that is refused until the window ends. */
export class Limit {
  private readonly rl: RateLimiterRedis;

  constructor(
    redis: Redis,
    prefix: string,
    readonly name: string,
    readonly rate: Rate,
  ) {
    this.rl = limiter(redis, prefix, name, { points: rate.points, duration: rate.durationSeconds });
  }

  /** Counts a hit for `key` (an IP, an address) and says where that leaves it. */
  async hit(key: string): Promise<Standing> {
    let r: RateLimiterRes;
    try {
      r = await this.rl.consume(hashedKey(key));
    } catch (e) {
      if (!(e instanceof RateLimiterRes)) return unavailable();
      r = e;
    }
    return { remaining: r.remainingPoints, resetSeconds: secondsOf(r.msBeforeNext), exceeded: r.consumedPoints > this.rate.points };
  }

  /** Counts a hit; false past the limit (for limits that must not show in the answer). */
  async allows(key: string): Promise<boolean> {
    return !(await this.hit(key)).exceeded;
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

/** What `admit` booked for one sign-in attempt; the outcome of its password compare settles it. */
export interface Attempt {
  readonly key: string;
  /** Whether this attempt, if it fails, is the consecutive failure that starts the short (long) lock. */
  readonly locksShort: boolean;
  readonly locksLong: boolean;
}

/** A store failure is a dependency being down (503), never a pass. */
const inStore = async <T>(op: () => Promise<T>): Promise<T> => {
  try {
    return await op();
  } catch {
    return unavailable();
  }
};

/** Counts one for `key` and tells where the count stands, within the limit or past it. */
const book = async (l: RateLimiterRedis, key: string): Promise<RateLimiterRes> => {
  try {
    return await l.consume(key);
  } catch (e) {
    if (e instanceof RateLimiterRes) return e;
    return unavailable();
  }
};

/**
 * Progressive lockout of one account, whatever the IP (NIST SP 800-63B-4 3.2.2, OWASP ASVS 5.0 V6.3):
 * `lockAfter` consecutive failures lock it for `lockSeconds`, `longLockAfter` for
 * `longLockSeconds`; a correct password clears the consecutive counts. Independently, at most
 * `maxPerHour` failures an hour, then an hour's lock; a success gives its point back.
 *
 * Every attempt is booked as a failure before its password is compared, so parallel guesses
 * count against each other: of a burst, only as many are compared at once as the count allows.
 * The rest wait (up to `ADMIT_WAIT_MS`) for those to settle: a failure that reaches the count
 * locks the account and the waiters are refused with that lock; a success clears the count and
 * they go on, so one person's parallel requests with the right password never lock their own
 * account. An attempt whose compare never finished stays booked: a waiter that outlives the
 * bound starts the lock, which ends with the count cleared, so it cannot stay stuck. Sign-in and
 * re-entered current passwords (change, email change, deactivate) share it.
 *
 * Counts and locks are separate keys: a count past its limit for a moment (two waiters booking
 * at once) is never mistaken for a lock.
 */
export class LoginThrottle {
  private readonly short: RateLimiterRedis;
  private readonly long: RateLimiterRedis;
  private readonly hourly: RateLimiterRedis;
  private readonly shortLock: RateLimiterRedis;
  private readonly longLock: RateLimiterRedis;

  constructor(
    redis: Redis,
    prefix: string,
    private readonly c: RateLimitsConfig['loginFailures'],
  ) {
    // The consecutive counts run for an hour (at least the lock); a lock is a `block` of its own key.
    this.short = limiter(redis, prefix, 'login-fail-short', { points: c.lockAfter, duration: Math.max(HOUR, c.lockSeconds) });
    this.long = limiter(redis, prefix, 'login-fail-long', { points: c.longLockAfter, duration: Math.max(HOUR, c.longLockSeconds) });
    this.hourly = limiter(redis, prefix, 'login-fail-hour', { points: c.maxPerHour, duration: HOUR, blockDuration: HOUR });
    this.shortLock = limiter(redis, prefix, 'login-lock-short', { points: 1, duration: c.lockSeconds });
    this.longLock = limiter(redis, prefix, 'login-lock-long', { points: 1, duration: c.longLockSeconds });
  }

  /** Milliseconds a lock key still holds (0: not locked). */
  private static lockedMs(lock: RateLimiterRedis, r: RateLimiterRes | null): number {
    return r !== null && r.consumedPoints > lock.points ? r.msBeforeNext : 0;
  }

  private static refused(limit: string, ms: number): never {
    throw new RateLimitedError(limit, secondsOf(ms), 'Too many failed sign-ins for this account; try again later');
  }

  /**
   * Starts the short lock; when it ends, the consecutive count starts again from nothing. The lock
   * is in place before the count is cleared, so an attempt that books into the cleared count sees
   * the lock when it looks again (admit).
   */
  private async lockShort(key: string): Promise<void> {
    await inStore(() => this.shortLock.block(key, this.c.lockSeconds));
    await inStore(() => this.short.delete(key));
  }

  private async lockLong(key: string): Promise<void> {
    await inStore(() => this.longLock.block(key, this.c.longLockSeconds));
    await inStore(() => Promise.all([this.long.delete(key), this.short.delete(key)]));
  }

  /** Milliseconds the account is still locked for (0: not locked). */
  private async lockedFor(key: string): Promise<number> {
    const [sl, ll] = await inStore(() => Promise.all([this.shortLock.get(key), this.longLock.get(key)]));
    return Math.max(LoginThrottle.lockedMs(this.shortLock, sl), LoginThrottle.lockedMs(this.longLock, ll));
  }

  /** Before the password is compared: refuses a locked account, else books the attempt as a failure. */
  async admit(account: string): Promise<Attempt> {
    const key = hashedKey(account);
    const c = this.c;
    const waitUntil = Date.now() + ADMIT_WAIT_MS;
    for (;;) {
      // A locked account is refused before anything is booked: waiting out a lock adds no failures.
      const lockedMs = await this.lockedFor(key);
      if (lockedMs > 0) LoginThrottle.refused('login-account', lockedMs);

      // Each count is booked only by attempts the one before admitted, so attempts held back by the
      // short count never inflate the long one. Attempts in flight hold the last guesses a count
      // allows: one past them gives its point back and waits for them to settle.
      const mayWait = Date.now() < waitUntil;
      const bs = await book(this.short, key);
      if (bs.consumedPoints > c.lockAfter) {
        if (mayWait) {
          await this.giveBack([this.short], key);
          continue;
        }
        await this.lockShort(key);
        LoginThrottle.refused('login-account', c.lockSeconds * 1000);
      }
      const bl = await book(this.long, key);
      if (bl.consumedPoints > c.longLockAfter) {
        if (mayWait) {
          await this.giveBack([this.short, this.long], key);
          continue;
        }
        await this.lockLong(key);
        LoginThrottle.refused('login-account', c.longLockSeconds * 1000);
      }
      // A lock may have started between the look above and these bookings (an attempt that reached
      // the count failed meanwhile and cleared it): this attempt was not one of those it allowed.
      const lockedSince = await this.lockedFor(key);
      if (lockedSince > 0) {
        await inStore(() => Promise.all([this.short.reward(key, 1), this.long.reward(key, 1)]));
        LoginThrottle.refused('login-account', lockedSince);
      }
      const h = await book(this.hourly, key);
      if (h.consumedPoints > c.maxPerHour) {
        await inStore(() => Promise.all([this.short.reward(key, 1), this.long.reward(key, 1)]));
        LoginThrottle.refused('login-account-hourly', h.msBeforeNext);
      }
      return { key, locksShort: bs.consumedPoints === c.lockAfter, locksLong: bl.consumedPoints === c.longLockAfter };
    }
  }

  /** Undoes this attempt's booking of `counts`, then pauses briefly (jittered) before it looks again. */
  private async giveBack(counts: RateLimiterRedis[], key: string): Promise<void> {
    await inStore(() => Promise.all(counts.map((l) => l.reward(key, 1))));
    await new Promise((r) => setTimeout(r, 15 + Math.random() * 35));
  }

  /** The password did not match: the failure is booked already; it starts a lock it reached. */
  async failed(a: Attempt): Promise<void> {
    if (a.locksLong) await this.lockLong(a.key);
    else if (a.locksShort) await this.lockShort(a.key);
  }

  /** The password matched: the consecutive counts start again, and the hour gets its point back. */
  async succeeded(a: Attempt): Promise<void> {
    await inStore(() => Promise.all([this.short.delete(a.key), this.long.delete(a.key), this.hourly.reward(a.key, 1)]));
  }
}
