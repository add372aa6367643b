import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { KoaAdapter } from '@bull-board/koa';
import { Middleware, Next } from 'koa';
import { DomainError } from '../errors';
import { safeEqual } from '../commands/tokens';
import { ApiRouter } from './api-router';
import { authenticate, requireRole } from './auth';
import { AppState, Ctx, HttpServices } from './types';

type MatchedCtx = Ctx & { _matchedRoute?: string | RegExp };

/** Times every request by route template (never the raw path: ids would explode the series). */
export const metricsMiddleware =
  (svc: HttpServices): Middleware<AppState> =>
  async (ctx: Ctx, next: Next) => {
    const end = svc.metrics.httpDuration.startTimer();
    try {
      await next();
    } finally {
      const matched = (ctx as MatchedCtx)._matchedRoute;
      const route = typeof matched === 'string' ? matched : ctx.path.startsWith('/admin/queues') ? '/admin/queues' : 'unmatched';
      end({ method: ctx.method, route, status: String(ctx.status) });
      if (ctx.method === 'POST' && ctx.path === '/api/auth/login') {
        svc.metrics.logins.inc({ outcome: ctx.status === 200 ? 'success' : ctx.status === 429 ? 'locked' : 'failure' });
      }
    }
  };

/** GET /metrics for Prometheus; with METRICS_TOKEN set, only with `Authorization: Bearer <token>`. */
export function metricsRouter(svc: HttpServices): ApiRouter {
  const r = new ApiRouter({ tag: 'Operations' });
  r.get(
    '/metrics',
    {
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      description: 'Open, unless METRICS_TOKEN is set: then only with `Authorization: Bearer <METRICS_TOKEN>`.',
      auth: 'metrics-token',
      ok: {
        status: 200,
        description: 'The metrics, in the Prometheus text format',
        content: { 'text/plain': { schema: { type: 'string' } } },
      },
      errors: { 401: 'METRICS_TOKEN is set and the request does not carry it' },
    },
    async (ctx) => {
      const token = svc.config.metricsToken;
      if (token) {
        const given = /^Bearer (.+)$/.exec(ctx.get('authorization'))?.[1] ?? '';
        if (!safeEqual(given, token)) {
          ctx.set('WWW-Authenticate', 'Bearer');
          throw new DomainError('UNAUTHENTICATED', 'The metrics token is missing or wrong');
        }
      }
      ctx.type = svc.metrics.registry.contentType;
      ctx.body = await svc.metrics.registry.metrics();
    },
  );
  return r;
}

export const QUEUES_PATH = '/admin/queues';

/**
 * The BullMQ dashboard (bull-board) at /admin/queues, for admins only: signed in with the
 * access_token cookie (or a Bearer token), never an API key.
 */
export function queuesDashboard(svc: HttpServices): Middleware<AppState> {
  const adapter = new KoaAdapter();
  adapter.setBasePath(QUEUES_PATH);
  createBullBoard({ queues: svc.queues.all.map((q) => new BullMQAdapter(q)), serverAdapter: adapter });
  const board = adapter.registerPlugin() as unknown as Middleware<AppState>;
  const auth = authenticate(svc);
  const admin = requireRole('admin');
  return async (ctx: Ctx, next: Next) => {
    if (ctx.path !== QUEUES_PATH && !ctx.path.startsWith(`${QUEUES_PATH}/`)) return next();
    await auth(ctx, () =>
      admin(ctx, async () => {
        // Its own page and scripts, from this origin only.
        ctx.set(
          'Content-Security-Policy',
          "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        );
        await board(ctx, next);
      }),
    );
  };
}
