import { Next } from 'koa';
import { DomainError } from '../commands/errors';
import { Ctx, HttpServices } from './types';

const bearerOf = (header: string | undefined): string | null => {
  const m = header ? /^Bearer\s+([A-Za-z0-9._~+/=-]{1,4096})$/i.exec(header) : null;
  return m ? m[1] : null;
};

/**
 * Authenticates with `Authorization: Bearer` or the access_token cookie (never the query
 * string), and refuses a token whose session was ended, at once, not at its expiry.
 */
export const authenticate = (svc: HttpServices) =>
  async function authenticateMiddleware(ctx: Ctx, next: Next): Promise<void> {
    const token = bearerOf(ctx.get('authorization') || undefined) ?? ctx.cookies.get('access_token') ?? null;
    const claims = token ? svc.cmd.accessTokens.verify(token) : null;
    if (!claims || !(await svc.cmd.revocations.accepts(claims.sid, claims.sv))) {
      ctx.set('WWW-Authenticate', 'Bearer');
      throw new DomainError('UNAUTHENTICATED', token ? 'The access token is invalid, expired or revoked' : 'Authentication required');
    }
    ctx.state.auth = claims;
    ctx.state.meta.actorId = claims.sub;
    await next();
  };

export const requireAuth = (ctx: Ctx) => {
  const a = ctx.state.auth;
  if (!a) throw new DomainError('UNAUTHENTICATED', 'Authentication required');
  return a;
};
