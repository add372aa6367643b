import type { Redis } from 'ioredis';

const REVOKED = 'revoked';

interface Entry {
  /** Lowest session version still accepted; Infinity when the session is revoked. */
  minVersion: number;
  expiresAt: number;
}

/**
 * Immediate revocation of access tokens. Each access token carries its session id and the
 * session's version (refresh count) when issued; Redis keeps, per touched session, the lowest
 * version still accepted, or "revoked", for as long as an access token can live.
 *
 * Every API process also keeps the list in memory, loaded at start and fed by Redis pub/sub,
 * so checking a token costs no round trip. While the subscription is down (start-up, a lost
 * connection) checks go to Redis itself: never a stale answer.
 */
export class RevocationList {
  private readonly local = new Map<string, Entry>();
  private live = false;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
    /** A dedicated connection for SUBSCRIBE; without one every check asks Redis. */
    private readonly subscriber: Redis | null = null,
  ) {}

  private key(sessionId: string): string {
    return `${this.prefix}:sess:${sessionId}`;
  }

  private get channel(): string {
    return `${this.prefix}:revocations`;
  }

  /** Subscribes, then loads what Redis holds; from then on checks are answered from memory. */
  async start(): Promise<void> {
    const sub = this.subscriber;
    if (!sub) return;
    sub.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const [sid, value] = message.split(' ');
      if (sid && value) this.remember(sid, value, Date.now() + this.ttlSeconds * 1000);
    });
    // Until resubscribed and reloaded after a reconnect, fall back to asking Redis.
    sub.on('close', () => {
      this.live = false;
    });
    sub.on('ready', () => {
      if (!this.live) void this.sync().catch(() => undefined);
    });
    await this.sync();
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  private async sync(): Promise<void> {
    await this.subscriber!.subscribe(this.channel);
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}:sess:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) {
        const values = await this.redis.mget(...keys);
        const ttls = await Promise.all(keys.map((k) => this.redis.pttl(k)));
        keys.forEach((k, i) => {
          const v = values[i];
          if (v !== null) this.remember(k.slice(`${this.prefix}:sess:`.length), v, Date.now() + Math.max(ttls[i], 0));
        });
      }
    } while (cursor !== '0');
    this.live = true;
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.live = false;
  }

  private remember(sessionId: string, value: string, expiresAt: number): void {
    const minVersion = value === REVOKED ? Infinity : Number(value);
    const cur = this.local.get(sessionId);
    // Revocations only tighten: a late message never loosens what is known.
    if (!cur || minVersion > cur.minVersion || cur.expiresAt < Date.now()) this.local.set(sessionId, { minVersion, expiresAt });
  }

  private sweep(): void {
    const now = Date.now();
    for (const [sid, e] of this.local) if (e.expiresAt < now) this.local.delete(sid);
  }

  private async write(entries: [string, string][]): Promise<void> {
    const expiresAt = Date.now() + this.ttlSeconds * 1000;
    for (const [sid, value] of entries) this.remember(sid, value, expiresAt);
    const m = this.redis.multi();
    for (const [sid, value] of entries) {
      m.set(this.key(sid), value, 'EX', this.ttlSeconds);
      m.publish(this.channel, `${sid} ${value}`);
    }
    await m.exec();
  }

  async revokeSessions(sessionIds: readonly string[]): Promise<void> {
    if (sessionIds.length) await this.write(sessionIds.map((id) => [id, REVOKED]));
  }

  /** Access tokens of this session issued before `version` stop working. */
  async requireVersion(sessionId: string, version: number): Promise<void> {
    await this.write([[sessionId, String(version)]]);
  }

  async accepts(sessionId: string, version: number): Promise<boolean> {
    if (this.live) {
      const e = this.local.get(sessionId);
      return !e || e.expiresAt < Date.now() || version >= e.minVersion;
    }
    const v = await this.redis.get(this.key(sessionId));
    if (v === null) return true;
    if (v === REVOKED) return false;
    return version >= Number(v);
  }
}
