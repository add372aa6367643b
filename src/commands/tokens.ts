import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { OneTimeToken } from '../events/user';

export type TokenPurpose = 'verify-email' | 'reset-password' | 'change-email';

export const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

/** The token a link carries; derivable only with TOKEN_SECRET, so events can hold just its id. */
export const deriveOneTimeToken = (secret: string, purpose: TokenPurpose, tokenId: string): string =>
  createHmac('sha256', secret).update(`${purpose}:${tokenId}`).digest('base64url');

export const newOneTimeToken = (secret: string, purpose: TokenPurpose, ttlSeconds: number, now: Date): OneTimeToken => {
  const tokenId = randomUUID();
  return {
    tokenId,
    tokenHash: sha256(deriveOneTimeToken(secret, purpose, tokenId)),
    expiresAt: new Date(now.getTime() + ttlSeconds * 1000).toISOString(),
  };
};

/** Refresh tokens are `<sessionId>.<256 random bits>`: the session is found without a lookup table. */
export const newRefreshToken = (sessionId: string): string => `${sessionId}.${randomBytes(32).toString('base64url')}`;

export const parseRefreshToken = (token: string): { sessionId: string } | null => {
  const m = /^([0-9a-f-]{36})\.[A-Za-z0-9_-]{43}$/.exec(token);
  return m ? { sessionId: m[1] } : null;
};

export const safeEqual = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * A change-of-email link carries `<userId>.<token>`: the new address is claimed only when the
 * link is followed, so until then the link itself is what leads to the account.
 */
export const accountLinkToken = (userId: string, token: string): string => `${userId}.${token}`;

export const parseAccountLinkToken = (value: string): { userId: string; token: string } | null => {
  const m = /^([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/.exec(value);
  return m ? { userId: m[1], token: m[2] } : null;
};
