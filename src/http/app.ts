import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import Koa, { Middleware, Next } from 'koa';
import { HttpMethodEnum, koaBody } from 'koa-body';
import { corsFor, csrfGuard, securityHeaders } from './browser-safety';
import { sanitiseBody } from './json-body';
import { metricsMiddleware, queuesDashboard } from './observability';
import { problemMiddleware, sendProblem } from './problem';
import { routers } from './routes';
import { AppState, Ctx, HttpServices } from './types';

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const hasBody = (ctx: Ctx): boolean => Number(ctx.get('content-length') || 0) > 0 || ctx.get('transfer-encoding') !== '';

/**
 * The Koa application: request context and log line, security headers, CORS, problem+json
 * errors, CSRF guard, JSON bodies only (64 KiB, prototype keys removed), routers.
 */
export function createApp(svc: HttpServices): Koa<AppState> {
  // Behind N proxies, the client is the N-th address from the right of X-Forwarded-For: anything
  // left of it was written by the client and could be anything (e.g. to dodge a rate limit).
  const app = new Koa<AppState>({ proxy: svc.config.trustProxy, maxIpsCount: svc.config.proxyHops });

  app.use(async (ctx: Ctx, next: Next) => {
    const given = ctx.get('x-request-id');
    const requestId = /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID();
    const started = process.hrtime.bigint();
    ctx.state.requestId = requestId;
    // Made when first used: most requests never log anything but their one line.
    let log: AppState['log'] | null = null;
    Object.defineProperty(ctx.state, 'log', { get: () => (log ??= svc.log.child({ requestId })), configurable: true, enumerable: true });
    ctx.state.meta = {
      correlationId: requestId,
      ip: ctx.ip || null,
      userAgent: ctx.get('user-agent').slice(0, 512) || null,
      actorId: null,
    };
    ctx.set('X-Request-Id', requestId);
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // The path only: never the query string (verification links carry tokens), a header or a body.
      if (svc.log.isLevelEnabled('info'))
        svc.log.info({ requestId, method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 10) / 10 }, 'request');
    }
  });

  app.use(metricsMiddleware(svc));
  app.use(securityHeaders());
  app.use(corsFor(svc.config));
  app.use(problemMiddleware);
  app.use(csrfGuard(svc.config));
  app.use(queuesDashboard(svc));

  app.use(async (ctx: Ctx, next: Next) => {
    if (BODY_METHODS.has(ctx.method) && hasBody(ctx) && !ctx.is('application/json', 'application/*+json')) {
      sendProblem(ctx, 415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json');
      return;
    }
    await next();
  });

  app.use(
    koaBody({
      json: true,
      urlencoded: false,
      text: false,
      multipart: false,
      jsonLimit: '64kb',
      jsonStrict: true,
      parsedMethods: [HttpMethodEnum.POST, HttpMethodEnum.PUT, HttpMethodEnum.PATCH, HttpMethodEnum.DELETE],
    }),
  );
  app.use(sanitiseBody);

  app.use(routeByPrefix(routers(svc).map((r) => r.router)));
  return app;
}

/**
 * Runs the routers in order, skipping those whose prefix the path does not start with: a
 * request meets only the routers that could match it (its own and the unprefixed ones), not
 * all fourteen with every route's pattern. Each router answers 405 (or 501) with the Allow
 * header for its own paths; problemMiddleware gives that a problem+json body.
 */
function routeByPrefix(list: Router<AppState>[]): Middleware<AppState> {
  const mounted = list.map((r) => {
    const routes = r.routes() as unknown as Middleware<AppState>;
    const allowed = r.allowedMethods() as unknown as Middleware<AppState>;
    return { prefix: r.opts.prefix ?? '', run: (ctx: Ctx, next: Next) => routes(ctx, () => allowed(ctx, next)) };
  });
  const fits = (prefix: string, path: string): boolean =>
    prefix === '' || path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 47) /* / */;
  return (ctx: Ctx, next: Next) => {
    const dispatch = (i: number): Promise<unknown> => {
      while (i < mounted.length && !fits(mounted[i].prefix, ctx.path)) i++;
      return i === mounted.length ? next() : mounted[i].run(ctx, () => dispatch(i + 1));
    };
    return dispatch(0);
  };
}
