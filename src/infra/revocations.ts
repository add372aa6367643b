import type { Redis } from 'ioredis';

const REVOKED = 'revoked';

/**
 * Immediate revocation of access tokens. Each access token carries its session id and the
 * session's version (refresh count) when issued; Redis keeps, per touched session, the lowest
 * version still accepted, or "revoked". Entries live as long as an access token can.
 */
export class RevocationList {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {}

  private key(sessionId: string): string {
    return `${this.prefix}:sess:${sessionId}`;
  }

  async revokeSessions(sessionIds: readonly string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    const m = this.redis.multi();
    for (const id of sessionIds) m.set(this.key(id), REVOKED, 'EX', this.ttlSeconds);
    await m.exec();
  }

  /** Access tokens of this session issued before `version` stop working. */
  async requireVersion(sessionId: string, version: number): Promise<void> {
    await this.redis.set(this.key(sessionId), String(version), 'EX', this.ttlSeconds);
  }

  async accepts(sessionId: string, version: number): Promise<boolean> {
    const v = await this.redis.get(this.key(sessionId));
    if (v === null) return true;
    if (v === REVOKED) return false;
    return version >= Number(v);
  }
}
