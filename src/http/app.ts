import { randomUUID } from 'node:crypto';
import Koa, { Next } from 'koa';
import { HttpMethodEnum, koaBody } from 'koa-body';
import { problemMiddleware, sendProblem } from './problem';
import { routers } from './routes';
import { AppState, Ctx, HttpServices } from './types';

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const hasBody = (ctx: Ctx): boolean => Number(ctx.get('content-length') || 0) > 0 || ctx.get('transfer-encoding') !== '';

/** The Koa application: request context, problem+json errors, JSON bodies only, routers. */
export function createApp(svc: HttpServices): Koa<AppState> {
  const app = new Koa<AppState>({ proxy: svc.config.trustProxy });

  app.use(async (ctx: Ctx, next: Next) => {
    const given = ctx.get('x-request-id');
    const requestId = /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID();
    const started = process.hrtime.bigint();
    ctx.state.requestId = requestId;
    ctx.state.log = svc.log.child({ requestId });
    ctx.state.meta = { correlationId: requestId, ip: ctx.ip || null, userAgent: ctx.get('user-agent').slice(0, 512) || null, actorId: null };
    ctx.set('X-Request-Id', requestId);
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      ctx.state.log.info({ method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 10) / 10 }, 'request');
    }
  });

  app.use(problemMiddleware);

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

  for (const router of routers(svc)) {
    app.use(router.routes());
    app.use(router.allowedMethods({ throw: true }));
  }
  return app;
}
