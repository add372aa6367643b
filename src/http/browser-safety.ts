import cors from '@koa/cors';
import helmet from 'koa-helmet';
import { Middleware, Next } from 'koa';
import { DomainError } from '../errors';
import { Config } from '../config';
import { AppState, Ctx } from './types';

/**
 * Security headers (helmet). The API answers JSON, so its policy forbids everything a document
 * could load or be framed by; an HTML page of ours (the built-in /reset-password) sets its own
 * Content-Security-Policy with a nonce, which replaces this one because routes run after it.
 */
export const securityHeaders = (): Middleware<AppState> =>
  helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"], frameAncestors: ["'none'"] },
    },
    referrerPolicy: { policy: 'no-referrer' },
    xFrameOptions: { action: 'deny' },
    strictTransportSecurity: { maxAge: 365 * 24 * 3600, includeSubDomains: true },
  });

/** The origins a browser may send state changes from: this service's own and CORS_ORIGINS. */
export const trustedOrigins = (config: Config): ReadonlySet<string> => new Set([new URL(config.appBaseUrl).origin, ...config.corsOrigins]);

/**
 * CORS for the listed origins only, with credentials. An unlisted origin gets no CORS headers
 * at all (so its scripts cannot read answers), and there is never a wildcard.
 */
export const corsFor = (config: Config): Middleware<AppState> => {
  const allowed = new Set(config.corsOrigins);
  return cors({
    origin: (ctx) => (allowed.has(ctx.get('origin')) ? ctx.get('origin') : ''),
    credentials: true,
    allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowHeaders: ['Authorization', 'Content-Type', 'X-API-Key', 'X-Request-Id'],
    exposeHeaders: ['Retry-After', 'RateLimit', 'RateLimit-Policy', 'WWW-Authenticate', 'X-Request-Id', 'Allow'],
    maxAge: 600,
  });
};

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The origin a browser says the request comes from: `Origin`, or else the origin of `Referer`. */
const originOf = (ctx: Ctx): string | null => {
  const origin = ctx.get('origin');
  if (origin) return origin === 'null' ? null : origin;
  const referer = ctx.get('referer');
  if (!referer) return null;
  try {
    return new URL(referer).origin;
  } catch {
    return null;
  }
};

/**
 * CSRF protection (OWASP ASVS 5.0 V3.5.1): a state change that a browser would authenticate with our
 * cookies (access_token, or refresh_token on /api/auth) must come from a trusted origin.
 * A request with `Authorization` or `X-API-Key` carries its credential itself, which a
 * cross-site page cannot set without a CORS preflight, so it is not affected. This also covers
 * login, refresh and logout, which read the refresh cookie.
 */
export const csrfGuard = (config: Config): Middleware<AppState> => {
  const trusted = trustedOrigins(config);
  return async (ctx: Ctx, next: Next) => {
    const byCookie =
      !ctx.get('authorization') &&
      !ctx.get('x-api-key') &&
      (ctx.cookies.get('access_token') !== undefined || ctx.cookies.get('refresh_token') !== undefined);
    if (UNSAFE.has(ctx.method) && byCookie) {
      const origin = originOf(ctx);
      if (!origin || !trusted.has(origin)) {
        throw new DomainError(
          'CSRF_REJECTED',
          'A cookie-authenticated change must come from a trusted origin (Origin header); send the token as a Bearer header otherwise',
        );
      }
    }
    await next();
  };
};
