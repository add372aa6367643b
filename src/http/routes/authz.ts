import Router from '@koa/router';
import * as yup from 'yup';
import { checkAccess } from '../../commands/permission/authz';
import { authenticate, requirePrincipal } from '../auth';
import { AppState, HttpServices } from '../types';
import { validate } from '../validate';
import { onlyParams, text } from './services';

export const checkSchema = yup.object({ service: text().min(1).max(200).required() });

/**
 * Authorisation checks for the applications in front of which this service sits. Open to any
 * signed-in session and to API keys (a key counts only the permissions it was given).
 */
export function authzRouter(svc: HttpServices): Router<AppState> {
  const r = new Router<AppState>({ prefix: '/api/authz' });
  r.use(authenticate(svc, { apiKeys: 'read' }));

  /** `service` is an id or a name (case-insensitive); an unknown service is simply not allowed. */
  r.get('/check', async (ctx) => {
    onlyParams(ctx.query, ['service']);
    const { service } = validate(checkSchema, ctx.query);
    const p = requirePrincipal(ctx);
    ctx.body = await checkAccess(svc.cmd, { userId: p.sub, limitTo: p.via === 'api-key' ? p.permissionIds : null }, service);
  });

  return r;
}
