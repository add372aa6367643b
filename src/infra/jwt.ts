import { createSecretKey, KeyObject, randomUUID } from 'node:crypto';
import jwt, { JwtPayload } from 'jsonwebtoken';
import { Config } from '../config';
import { Role } from '../events/user';
import { BoundedMap } from './bounded';

export interface AccessClaims {
  sub: string;
  sid: string;
  role: Role;
  /** The session's version (refresh count) when issued; see RevocationList. */
  sv: number;
  iat: number;
  exp: number;
  jti: string;
}

const TYP = 'at+jwt';

const isInstant = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** The claims every access token of ours carries (sign() writes them all). */
const hasRequiredClaims = (p: JwtPayload): boolean =>
  isText(p.sub) &&
  isText(p.sid) &&
  isText(p.jti) &&
  typeof p.role === 'string' &&
  typeof p.sv === 'number' &&
  isInstant(p.exp) &&
  isInstant(p.iat);
/** Verified tokens kept per process (a few MB at most). */
const VERIFIED_KEPT = 20_000;

/** RFC 9068-style access tokens: one algorithm, explicit typ, issuer, audience and expiry checked. */
export class AccessTokens {
  /** A KeyObject built once: given a string, jsonwebtoken tries to parse it as a PEM key on every call. */
  private readonly key: KeyObject;

  constructor(private readonly c: Config['jwt']) {
    this.key = createSecretKey(Buffer.from(c.secret, 'utf8'));
  }

  get ttlSeconds(): number {
    return this.c.accessTtlSeconds;
  }

  sign(claims: { sub: string; sid: string; role: Role; sv: number }): string {
    return jwt.sign({ sid: claims.sid, role: claims.role, sv: claims.sv }, this.key, {
      algorithm: this.c.algorithm,
      expiresIn: this.c.accessTtlSeconds,
      issuer: this.c.issuer,
      audience: this.c.audience,
      subject: claims.sub,
      jwtid: randomUUID(),
      header: { alg: this.c.algorithm, typ: TYP },
    });
  }

  /**
   * Tokens this process verified lately, by their exact text: a client presents the same token
   * on every request for its lifetime, and a token's text cannot change, so checking its
   * signature once is enough; its expiry is checked on every use (revocation is the caller's,
   * per request). Only valid tokens are kept, and at most VERIFIED_KEPT of them.
   */
  private readonly verified = new BoundedMap<string, AccessClaims>(VERIFIED_KEPT);

  /** The claims, or null for anything not a valid, current access token of ours. */
  verify(token: string): AccessClaims | null {
    const known = this.verified.get(token);
    if (known) {
      if (known.exp * 1000 > Date.now()) return known;
      this.verified.delete(token);
      return null;
    }
    const claims = this.verifySignature(token);
    if (claims) {
      this.verified.set(token, claims);
    }
    return claims;
  }

  private verifySignature(token: string): AccessClaims | null {
    try {
      const decoded = jwt.verify(token, this.key, {
        algorithms: [this.c.algorithm],
        issuer: this.c.issuer,
        audience: this.c.audience,
        complete: true,
      });
      if (decoded.header.typ !== TYP) return null;
      const p = decoded.payload as JwtPayload;
      // jsonwebtoken checks exp only when it is there: a token without it would never expire
      // (and code that reads `exp` would trip on it). Every claim ours carry is required.
      if (!hasRequiredClaims(p)) return null;
      return p as unknown as AccessClaims;
    } catch {
      return null;
    }
  }
}
