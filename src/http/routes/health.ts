import Router from '@koa/router';
import { AppState, HttpServices } from '../types';

export function healthRouter(svc: HttpServices): Router<AppState> {
  const r = new Router<AppState>();
  r.get('/health/live', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  r.get('/health/ready', async (ctx) => {
    const checks = await svc.readiness();
    const ok = checks.every((c) => c.ok);
    ctx.status = ok ? 200 : 503;
    ctx.body = { status: ok ? 'ok' : 'unavailable', checks };
  });
  return r;
}
