import { ApiRouter } from '../api-router';
import { HttpServices } from '../types';

export function healthRouter(svc: HttpServices): ApiRouter {
  const r = new ApiRouter({ tag: 'Operations', auth: 'public' });
  r.get(
    '/health/live',
    { operationId: 'healthLive', summary: 'Liveness: the process answers', ok: { status: 200, description: 'Alive', schema: 'Health' } },
    (ctx) => {
      ctx.body = { status: 'ok' };
    },
  );
  r.get(
    '/health/ready',
    {
      operationId: 'healthReady',
      summary: 'Readiness: PostgreSQL, Redis, the event store and projection lag',
      ok: [
        { status: 200, description: 'Ready', schema: 'Readiness' },
        { status: 503, description: 'A dependency is down or a projection is behind (the checks say which)', schema: 'Readiness' },
      ],
    },
    async (ctx) => {
      const checks = await svc.readiness();
      const ok = checks.every((c) => c.ok);
      ctx.status = ok ? 200 : 503;
      ctx.body = { status: ok ? 'ok' : 'unavailable', checks };
    },
  );
  return r;
}
