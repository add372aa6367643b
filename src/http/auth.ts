import { Next } from 'koa';
import { DomainError } from '../errors';
import { ApiKeyScope } from '../events/api-key';
import { Role } from '../events/user';
import { Ctx, HttpServices, Principal, SessionPrincipal } from './types';

const bearerOf = (header: string | undefined): string | null => {
  const m = header ? /^Bearer\s+([A-Za-z0-9._~+/=-]{1,4096})$/i.exec(header) : null;
  return m ? m[1] : null;
};

const unauthenticated = (ctx: Ctx, detail: string): never => {
  ctx.set('WWW-Authenticate', 'Bearer');
  throw new DomainError('UNAUTHENTICATED', detail);
};

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Authenticates with `Authorization: Bearer` or the access_token cookie (never the query
 * string), and refuses a token whose session was ended, at once, not at its expiry.
 * With `apiKeys`, an `X-API-Key` header (header only) is accepted too, up to that scope: `read`
 * lets keys make safe requests only, `write` changes as well. A key must hold the scope the
 * request needs. Routes that manage keys, sessions, passwords or users never pass `apiKeys`.
 */
export const authenticate = (svc: HttpServices, opts: { apiKeys?: ApiKeyScope } = {}) =>
  async function authenticateMiddleware(ctx: Ctx, next: Next): Promise<void> {
    const apiKey = ctx.get('x-api-key');
    if (apiKey) {
      const needs: ApiKeyScope = SAFE_METHODS.has(ctx.method) ? 'read' : 'write';
      if (!opts.apiKeys) throw new DomainError('FORBIDDEN', 'API keys cannot be used on this route');
      if (needs === 'write' && opts.apiKeys === 'read') throw new DomainError('FORBIDDEN', 'API keys can only read here');
      const p = await svc.apiKeys.verify(apiKey);
      if (!p) unauthenticated(ctx, 'The API key is invalid, expired or revoked');
      if (!p!.scopes.includes(needs)) throw new DomainError('FORBIDDEN', `This API key does not have the ${needs} scope`);
      ctx.state.auth = p!;
      ctx.state.meta.actorId = p!.sub;
      return next();
    }
    const token = bearerOf(ctx.get('authorization') || undefined) ?? ctx.cookies.get('access_token') ?? null;
    const claims = token ? svc.cmd.accessTokens.verify(token) : null;
    if (!claims || !(await svc.cmd.revocations.accepts(claims.sid, claims.sv))) {
      unauthenticated(ctx, token ? 'The access token is invalid, expired or revoked' : 'Authentication required');
    }
    const c = claims!;
    ctx.state.auth = { via: 'session', sub: c.sub, sid: c.sid, role: c.role, sv: c.sv, exp: c.exp };
    ctx.state.meta.actorId = c.sub;
    await next();
  };

export const requirePrincipal = (ctx: Ctx): Principal => {
  const a = ctx.state.auth;
  if (!a) throw new DomainError('UNAUTHENTICATED', 'Authentication required');
  return a;
};

export const requireSession = (ctx: Ctx): SessionPrincipal => {
  const a = requirePrincipal(ctx);
  if (a.via !== 'session') throw new DomainError('FORBIDDEN', 'This route needs a signed-in session');
  return a;
};

/** One guard per route: the caller's role must be one of these. */
export const requireRole =
  (...roles: Role[]) =>
  async (ctx: Ctx, next: Next): Promise<void> => {
    const a = requirePrincipal(ctx);
    if (!roles.includes(a.role)) throw new DomainError('FORBIDDEN', `This needs the ${roles.join(' or ')} role`);
    await next();
  };
