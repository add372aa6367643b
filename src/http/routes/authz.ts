import * as yup from 'yup';
import { checkAccess } from '../../commands/permission/authz';
import { ApiRouter } from '../api-router';
import { authenticate, requirePrincipal } from '../auth';
import { HttpServices } from '../types';
import { validate } from '../validate';
import { onlyParams, text } from './services';

const checkSchema = yup.object({ service: text().min(1).max(200).required() });

/**
 * Authorisation checks for the applications in front of which this service sits. Open to any
 * signed-in session and to API keys (a key counts only the permissions it was given).
 */
export function authzRouter(svc: HttpServices): ApiRouter {
  const r = new ApiRouter({ prefix: '/api/authz', tag: 'Authz', auth: 'session-or-key' });
  r.use(authenticate(svc, { apiKeys: 'read' }));

  /** `service` is an id or a name (case-insensitive); an unknown service is simply not allowed. */
  r.get(
    '/check',
    {
      operationId: 'checkAccess',
      summary: 'Whether the caller holds a permission over a service',
      description:
        '`service` is an id or a name (case-insensitive); an unknown service is simply not allowed. With an API key, only the key’s permissions count. An unknown query parameter is a 422.',
      query: checkSchema,
      ok: { status: 200, description: 'The answer', schema: 'AuthzCheck' },
    },
    async (ctx) => {
      onlyParams(ctx.query, ['service']);
      const { service } = validate(checkSchema, ctx.query);
      const p = requirePrincipal(ctx);
      ctx.body = await checkAccess(svc.cmd, { userId: p.sub, limitTo: p.via === 'api-key' ? p.permissionIds : null }, service);
    },
  );

  return r;
}
