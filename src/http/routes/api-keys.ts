import Router from '@koa/router';
import * as yup from 'yup';
import { createApiKey, revokeApiKey } from '../../commands/api-key/api-keys';
import { DomainError } from '../../errors';
import { API_KEY_SCOPES, ApiKeyScope } from '../../events/api-key';
import { UserId } from '../../events/user';
import { ApiKeyRow, liveApiKeysOf, presentApiKey } from '../../projections/api-keys';
import { authenticate, requireSession } from '../auth';
import { paginate, parseList } from '../list';
import { AppState, caughtUp, HttpServices } from '../types';
import { bodyOf, validate } from '../validate';
import { noStore } from '../token-response';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_PERMISSIONS = 100;

export const SORTS = { createdAt: 'created_at', name: 'name' };
export const FILTERS = yup.object({});

export const createApiKeySchema = yup.object({
  name: yup.string().trim().min(1, '${path} must not be empty').max(100, '${path} must be at most 100 characters').required(),
  permissionIds: yup
    .array(yup.string().trim().lowercase().matches(UUID, '${path} must be a UUID').required())
    .max(MAX_PERMISSIONS, `\${path} must have at most ${MAX_PERMISSIONS} items`)
    .default([]),
  // Least privilege by default, like GitHub's fine-grained tokens and Stripe's restricted keys:
  // a key that should change anything says so.
  scopes: yup
    .array(yup.string().oneOf(API_KEY_SCOPES, `\${path} must be one of ${API_KEY_SCOPES.join(', ')}`).required())
    .min(1, `\${path} must list ${API_KEY_SCOPES.join(', ')} or both`)
    .max(API_KEY_SCOPES.length, `\${path} must have at most ${API_KEY_SCOPES.length} items`)
    .default((): ApiKeyScope[] => ['read']),
  expiresAt: yup
    .string()
    .datetime({ allowOffset: true, message: '${path} must be an ISO 8601 date-time' })
    .nullable()
    .optional()
    .test('future', '${path} must be in the future', (v) => v === undefined || v === null || Date.parse(v) > Date.now()),
});

/**
 * The caller's API keys. Sessions only: a key can never mint, list or revoke keys (without
 * `apiKeys`, `authenticate` refuses an X-API-Key with 403).
 */
export function apiKeysRouter(svc: HttpServices): Router<AppState> {
  const r = new Router<AppState>({ prefix: '/api/api-keys' });
  r.use(authenticate(svc));

  r.post('/', async (ctx) => {
    const a = requireSession(ctx);
    const b = validate(createApiKeySchema, bodyOf(ctx));
    const created = await createApiKey(
      svc.cmd,
      a.sub as UserId,
      {
        name: b.name,
        permissionIds: b.permissionIds,
        scopes: b.scopes,
        expiresAt: b.expiresAt ? new Date(b.expiresAt).toISOString() : null,
      },
      ctx.state.meta,
    );
    await caughtUp(svc, created.position);
    const { position: _p, ...shown } = created;
    // The key itself is in this answer, the only time it exists outside the caller's hands.
    noStore(ctx);
    ctx.status = 201;
    ctx.body = shown;
  });

  r.get('/', async (ctx) => {
    const a = requireSession(ctx);
    const q = parseList(ctx.query, SORTS, '-createdAt', FILTERS);
    ctx.body = await paginate<ApiKeyRow, ReturnType<typeof presentApiKey>>(liveApiKeysOf(svc.knex, a.sub), q, presentApiKey);
  });

  r.delete('/:id', async (ctx) => {
    const a = requireSession(ctx);
    const id = ctx.params.id;
    if (!UUID.test(id)) throw new DomainError('NOT_FOUND', 'API key not found');
    await caughtUp(svc, await revokeApiKey(svc.cmd, a.sub as UserId, id.toLowerCase(), ctx.state.meta));
    ctx.status = 204;
  });

  return r;
}
