import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { DomainError } from '../errors';
import { bounded } from './bounded';

/** `minVersion` of a session whose every access token is refused. */
export const REVOKED = Infinity;
const REVOKED_VALUE = 'revoked';

/**
 * Access tokens of `sessionId` issued below `minVersion` (its refresh count when issued) are
 * refused, from `at` on, for as long as such a token can live.
 */
export interface Revocation {
  sessionId: string;
  minVersion: number;
  at: Date;
}

/** Reads the revocations of the log since a moment (commands/session/revocations-from-log.ts). */
export type RevocationSource = (since: Date) => Promise<Revocation[]>;

interface Entry {
  minVersion: number;
  expiresAt: number;
}

type Log = Pick<Logger, 'info' | 'warn'>;

/** How long a check waits for a rebuild under way before it answers 503 instead. */
const REBUILD_WAIT_MS = 2000;
/** Entries written per script call while storing a rebuilt list. */
const WRITE_CHUNK = 500;
/** Redis may have answered with an error or not at all: retry a failed resync after this. */
const RESYNC_RETRY_MS = 1000;

const encode = (minVersion: number): string => (minVersion === REVOKED ? REVOKED_VALUE : String(minVersion));
const decode = (value: string): number => (value === REVOKED_VALUE ? REVOKED : Number(value));

/**
 * Writes entries only where they tighten what Redis holds (a revocation never loosens, whatever
 * the order of writers: a rebuild from an older read of the log, a late worker), and announces
 * each one written. KEYS: the entries' keys; ARGV: the channel, then per key session id, value
 * and lifetime in ms.
 */
const TIGHTEN = `
for i, key in ipairs(KEYS) do
  local sid, value, ttl = ARGV[3 * i - 1], ARGV[3 * i], ARGV[3 * i + 1]
  local cur = redis.call('GET', key)
  if cur == false or (cur ~= '${REVOKED_VALUE}' and (value == '${REVOKED_VALUE}' or tonumber(value) > tonumber(cur))) then
    redis.call('SET', key, value, 'PX', ttl)
    redis.call('PUBLISH', ARGV[1], sid .. ' ' .. value)
  end
end
return 0`;

const unavailable = (): never => {
  throw new DomainError('UNAVAILABLE', 'The token cannot be checked right now; try again shortly');
};

/**
 * Immediate revocation of access tokens. Each access token carries its session id and the
 * session's version (refresh count) when issued; Redis keeps, per touched session, the lowest
 * version still accepted, or "revoked", for as long as an access token can live.
 *
 * Every API process also keeps the list in memory, loaded at start and fed by Redis pub/sub,
 * so checking a token costs no round trip. While the subscription is down (start-up, a lost
 * connection) checks go to Redis itself: never a stale answer.
 *
 * Redis is not the source of truth, the log is: the list is rebuilt from the log's
 * session-ending events of the last token lifetime at start, and whenever Redis turns out to
 * have lost it (the epoch key, written after a rebuild, is gone). Checks wait for a rebuild
 * under way (bounded; then 503), so none is answered from a list emptied by a Redis restart.
 * A check that cannot reach Redis fails closed (503). A write that cannot reach Redis holds in
 * this process's memory at once and is written when Redis is back.
 */
export class RevocationList {
  private readonly local = new Map<string, Entry>();
  private live = false;
  private sweeper: NodeJS.Timeout | null = null;
  private rebuilding: Promise<void> | null = null;
  private syncing: Promise<void> | null = null;
  /** Bumped whenever the subscription is lost. */
  private connection = 0;
  private resync: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Writes Redis missed: session id → its tightest entry. */
  private readonly pending = new Map<string, Entry>();
  /** Rebuilds done (for tests and logs). */
  rebuilds = 0;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
    /** A dedicated connection for SUBSCRIBE; without one every check asks Redis. */
    private readonly subscriber: Redis | null = null,
    private readonly fromLog: RevocationSource | null = null,
    private readonly log: Log | null = null,
  ) {
    // A write that failed while Redis was away goes out once it is back.
    redis.on('ready', () => void this.flushPending());
  }

  private key(sessionId: string): string {
    return `${this.prefix}:sess:${sessionId}`;
  }

  private get channel(): string {
    return `${this.prefix}:revocations`;
  }

  /** Present while Redis holds a list rebuilt from the log (and what was written since). */
  get epochKey(): string {
    return `${this.prefix}:revocations:epoch`;
  }

  /** Subscribes, rebuilds from the log; from then on checks are answered from memory. */
  async start(): Promise<void> {
    const sub = this.subscriber;
    if (!sub) return;
    sub.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const [sid, value] = message.split(' ');
      if (sid && value) this.remember(sid, decode(value), Date.now() + this.ttlSeconds * 1000);
    });
    // Until resubscribed and synced after a reconnect, checks ask Redis (or wait for a rebuild).
    sub.on('close', () => {
      this.connection++;
      this.live = false;
    });
    sub.on('ready', () => {
      if (!this.live) void this.syncOrRetry(false);
    });
    await this.sync(true);
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  private syncOrRetry(fromLog: boolean): Promise<void> {
    return this.sync(fromLog).catch((err: unknown) => {
      this.log?.warn({ err }, 'revocation list: sync failed; retrying');
      if (this.stopped || this.resync) return;
      this.resync = setTimeout(() => {
        this.resync = null;
        if (!this.live && this.subscriber?.status === 'ready') void this.syncOrRetry(false);
      }, RESYNC_RETRY_MS);
      this.resync.unref();
    });
  }

  /**
   * Subscribes, then takes the list from the log (at start, or when Redis lost it) or from Redis.
   * Live only if the subscription held throughout: one lost meanwhile may have missed messages.
   */
  private sync(fromLog: boolean): Promise<void> {
    this.syncing ??= (async () => {
      try {
        for (let first = true; ; first = false) {
          const connection = this.connection;
          await this.subscriber!.subscribe(this.channel);
          if ((fromLog && first) || (await this.redis.exists(this.epochKey)) === 0) await this.rebuild();
          else await this.loadFromRedis();
          if (connection === this.connection) {
            this.live = true;
            return;
          }
          // Lost meanwhile: go again once it is back (its 'ready' joins this sync).
          if (this.subscriber!.status !== 'ready') return;
        }
      } finally {
        this.syncing = null;
      }
    })();
    return this.syncing;
  }

  private async loadFromRedis(): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}:sess:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) {
        const values = await this.redis.mget(...keys);
        const ttls = await Promise.all(keys.map((k) => this.redis.pttl(k)));
        keys.forEach((k, i) => {
          const v = values[i];
          if (v !== null) this.remember(k.slice(`${this.prefix}:sess:`.length), decode(v), Date.now() + Math.max(ttls[i], 0));
        });
      }
    } while (cursor !== '0');
  }

  /**
   * The list from the log's events of the last token lifetime, into memory and into Redis (only
   * tightening what is there), then the epoch key. One at a time; callers join the one under way.
   */
  private rebuild(): Promise<void> {
    const source = this.fromLog;
    if (!source) return Promise.resolve();
    this.rebuilding ??= (async () => {
      try {
        const started = Date.now();
        const found = await source(new Date(started - this.ttlSeconds * 1000));
        const entries: [string, Entry][] = found.map((r) => [
          r.sessionId,
          { minVersion: r.minVersion, expiresAt: r.at.getTime() + this.ttlSeconds * 1000 },
        ]);
        for (const [sid, e] of entries) this.remember(sid, e.minVersion, e.expiresAt);
        for (let i = 0; i < entries.length; i += WRITE_CHUNK) await this.store(entries.slice(i, i + WRITE_CHUNK));
        await this.redis.set(this.epochKey, new Date().toISOString());
        this.rebuilds++;
        this.log?.info({ entries: entries.length, ms: Date.now() - started }, 'revocation list rebuilt from the log');
      } finally {
        this.rebuilding = null;
      }
    })();
    return this.rebuilding;
  }

  stop(): void {
    this.stopped = true;
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.resync) clearTimeout(this.resync);
    this.live = false;
  }

  private remember(sessionId: string, minVersion: number, expiresAt: number): void {
    const cur = this.local.get(sessionId);
    // Revocations only tighten: a late message never loosens what is known.
    if (!cur || minVersion > cur.minVersion || cur.expiresAt < Date.now()) this.local.set(sessionId, { minVersion, expiresAt });
  }

  private sweep(): void {
    const now = Date.now();
    for (const [sid, e] of this.local) if (e.expiresAt < now) this.local.delete(sid);
  }

  /** Entries into Redis where they tighten, each announced to the other processes. */
  private async store(entries: [string, Entry][]): Promise<void> {
    const now = Date.now();
    const live = entries.filter(([, e]) => e.expiresAt > now);
    if (!live.length) return;
    await this.redis.eval(
      TIGHTEN,
      live.length,
      ...live.map(([sid]) => this.key(sid)),
      this.channel,
      ...live.flatMap(([sid, e]) => [sid, encode(e.minVersion), String(e.expiresAt - now)]),
    );
  }

  private async write(entries: [string, number][]): Promise<void> {
    const expiresAt = Date.now() + this.ttlSeconds * 1000;
    const all: [string, Entry][] = entries.map(([sid, minVersion]) => [sid, { minVersion, expiresAt }]);
    for (const [sid, e] of all) this.remember(sid, e.minVersion, e.expiresAt);
    try {
      await this.store(all);
    } catch (err) {
      // The session already ended in the log: what is left to do is tell Redis, once it answers.
      for (const [sid, e] of all) {
        const held = this.pending.get(sid);
        if (!held || e.minVersion > held.minVersion) this.pending.set(sid, e);
      }
      this.log?.warn({ err, sessions: all.length }, 'revocation list: Redis unreachable; held in memory until it is back');
    }
  }

  private async flushPending(): Promise<void> {
    if (!this.pending.size) return;
    const all = [...this.pending];
    this.pending.clear();
    try {
      await this.store(all);
    } catch {
      for (const [sid, e] of all) if (!this.pending.has(sid)) this.pending.set(sid, e);
    }
  }

  async revokeSessions(sessionIds: readonly string[]): Promise<void> {
    if (sessionIds.length) await this.write(sessionIds.map((id) => [id, REVOKED]));
  }

  /** Access tokens of this session issued before `version` stop working. */
  async requireVersion(sessionId: string, version: number): Promise<void> {
    await this.write([[sessionId, version]]);
  }

  private acceptsLocally(sessionId: string, version: number): boolean {
    const e = this.local.get(sessionId);
    return !e || e.expiresAt < Date.now() || version >= e.minVersion;
  }

  /**
   * Whether an access token of this session and version may be used. Throws UNAVAILABLE (503)
   * when that cannot be known: Redis unreachable, or a rebuild that does not finish in time.
   */
  async accepts(sessionId: string, version: number): Promise<boolean> {
    // What this process knows refuses without asking: revocations only ever tighten.
    if (this.live || !this.acceptsLocally(sessionId, version)) return this.acceptsLocally(sessionId, version);
    for (let pass = 0; ; pass++) {
      const rebuilding = this.rebuilding ?? this.syncing;
      if (rebuilding) await bounded(rebuilding, REBUILD_WAIT_MS).catch(unavailable);
      if (this.live) return this.acceptsLocally(sessionId, version);
      const [value, epoch] = await this.redis.mget(this.key(sessionId), this.epochKey).catch(unavailable);
      // Redis lost the list (restarted empty): answer once it is rebuilt, not from what is left.
      if (epoch === null && this.fromLog) {
        if (pass > 0) unavailable();
        void this.rebuild().catch((err: unknown) => this.log?.warn({ err }, 'revocation list: rebuild failed'));
        continue;
      }
      return this.acceptsLocally(sessionId, version) && (value === null || version >= decode(value));
    }
  }
}
