import { randomUUID } from 'node:crypto';
import { deriveOneTimeToken, newOneTimeToken, newRefreshToken, parseRefreshToken, safeEqual, sha256 } from '../../src/commands/tokens';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const OTHER_SECRET = 'another-test-secret-that-is-long-enough-9876';

describe('one-time tokens', () => {
  it('deriveOneTimeToken is deterministic per (secret, purpose, id)', () => {
    const id = randomUUID();
    expect(deriveOneTimeToken(SECRET, 'verify-email', id)).toBe(deriveOneTimeToken(SECRET, 'verify-email', id));
    expect(deriveOneTimeToken(SECRET, 'verify-email', id)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('differs across purposes, secrets and ids', () => {
    const id = randomUUID();
    const tokens = [
      deriveOneTimeToken(SECRET, 'verify-email', id),
      deriveOneTimeToken(SECRET, 'reset-password', id),
      deriveOneTimeToken(SECRET, 'change-email', id),
      deriveOneTimeToken(OTHER_SECRET, 'verify-email', id),
      deriveOneTimeToken(SECRET, 'verify-email', randomUUID()),
    ];
    expect(new Set(tokens).size).toBe(tokens.length);
  });

  it("newOneTimeToken's hash is sha256 of the derived token, and it expires after the TTL", () => {
    const now = new Date('2030-01-01T00:00:00.000Z');
    const t = newOneTimeToken(SECRET, 'reset-password', 1800, now);
    expect(t.tokenHash).toBe(sha256(deriveOneTimeToken(SECRET, 'reset-password', t.tokenId)));
    expect(t.tokenHash).not.toBe(sha256(deriveOneTimeToken(SECRET, 'verify-email', t.tokenId)));
    expect(t.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(t.expiresAt).toBe('2030-01-01T00:30:00.000Z');
  });

  it('newOneTimeToken issues a fresh id each time', () => {
    const now = new Date();
    const a = newOneTimeToken(SECRET, 'verify-email', 60, now);
    const b = newOneTimeToken(SECRET, 'verify-email', 60, now);
    expect(a.tokenId).not.toBe(b.tokenId);
    expect(a.tokenHash).not.toBe(b.tokenHash);
  });
});

describe('refresh tokens', () => {
  it('parse back to their session id', () => {
    const sessionId = randomUUID();
    const token = newRefreshToken(sessionId);
    expect(parseRefreshToken(token)).toEqual({ sessionId });
  });

  it('carry at least 256 bits of randomness (43+ base64url chars after the dot) and differ each call', () => {
    const sessionId = randomUUID();
    const tokens = Array.from({ length: 50 }, () => newRefreshToken(sessionId));
    for (const t of tokens) {
      const [prefix, secret] = t.split('.');
      expect(prefix).toBe(sessionId);
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43,}$/);
      expect(Buffer.from(secret, 'base64url').length).toBeGreaterThanOrEqual(32);
    }
    expect(new Set(tokens).size).toBe(tokens.length);
    expect(new Set(tokens.map((t) => t.split('.')[1])).size).toBe(tokens.length);
  });

  it.each([
    ['empty', ''],
    ['no dot', randomUUID()],
    ['no secret', `${randomUUID()}.`],
    ['no session id', `.${'A'.repeat(43)}`],
    ['short secret', `${randomUUID()}.${'A'.repeat(42)}`],
    ['long secret', `${randomUUID()}.${'A'.repeat(44)}`],
    ['not base64url', `${randomUUID()}.${'+'.repeat(43)}`],
    ['not a uuid', `not-a-uuid.${'A'.repeat(43)}`],
    ['two dots', `${randomUUID()}.${'A'.repeat(43)}.x`],
    ['leading text', `x${randomUUID()}.${'A'.repeat(43)}`],
    ['trailing newline', `${randomUUID()}.${'A'.repeat(43)}\n`],
  ])('malformed (%s) parses to null', (_label, token) => {
    expect(parseRefreshToken(token)).toBeNull();
  });
});

describe('safeEqual', () => {
  it('compares strings of any length without throwing', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('', '')).toBe(true);
  });
});
