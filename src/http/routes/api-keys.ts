import * as yup from 'yup';
import { createApiKey, revokeApiKey } from '../../commands/api-key/api-keys';
import { DomainError } from '../../errors';
import { API_KEY_SCOPES, ApiKeyScope } from '../../events/api-key';
import { UserId } from '../../events/user';
import { ApiKeyRow, liveApiKeysOf, presentApiKey } from '../../projections/api-keys';
import { ApiRouter } from '../api-router';
import { authenticate, requireSession } from '../auth';
import { listQuerySchema, paginate, parseList } from '../list';
import { caughtUp, HttpServices } from '../types';
import { bodyOf, validate } from '../validate';
import { noStoreHeaders } from '../openapi/operation';
import { noStore } from '../token-response';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_PERMISSIONS = 100;

const SORTS = { createdAt: 'created_at', name: 'name' };
const FILTERS = yup.object({});

const createApiKeySchema = yup.object({
  name: yup.string().trim().min(1, '${path} must not be empty').max(100, '${path} must be at most 100 characters').required(),
  permissionIds: yup
    .array(yup.string().trim().lowercase().matches(UUID, '${path} must be a UUID').required())
    .max(MAX_PERMISSIONS, `\${path} must have at most ${MAX_PERMISSIONS} items`)
    .default([]),
  // Least privilege by default, like GitHub's fine-grained tokens and Stripe's restricted keys:
  // a key that should change anything says so.
  scopes: yup
    .array(
      yup
        .string()
        .oneOf(API_KEY_SCOPES, `\${path} must be one of ${API_KEY_SCOPES.join(', ')}`)
        .required(),
    )
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
export function apiKeysRouter(svc: HttpServices): ApiRouter {
  const r = new ApiRouter({ prefix: '/api/api-keys', tag: 'API keys', auth: 'session' });
  r.use(authenticate(svc));

  r.post(
    '/',
    {
      operationId: 'createApiKey',
      summary: 'Create an API key',
      description:
        'The key is in the answer this once. It acts as the caller, limited to its scopes and to the given permissions (which the caller must hold), and can never manage keys, sessions, passwords or users. `scopes` (default `["read"]`): `read` lets it make GET requests on the routes that take keys (content, authz checks, the owner’s profile and history); `write` lets it also change content, within the owner’s role, and includes `read`. `permissionIds` limit what authz checks count for it.',
      body: { schema: createApiKeySchema, example: { name: 'CI', scopes: ['read'], permissionIds: [] } },
      ok: { status: 201, description: 'Created', schema: 'ApiKeyCreated', headers: noStoreHeaders() },
    },
    async (ctx) => {
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
    },
  );

  r.get(
    '/',
    {
      operationId: 'listApiKeys',
      summary: "The caller's API keys",
      query: listQuerySchema(SORTS, FILTERS),
      ok: { status: 200, description: 'A page of keys (expired ones included, marked)', schema: 'ApiKeyPage' },
    },
    async (ctx) => {
      const a = requireSession(ctx);
      const q = parseList(ctx.query, SORTS, '-createdAt', FILTERS);
      ctx.body = await paginate<ApiKeyRow, ReturnType<typeof presentApiKey>>(liveApiKeysOf(svc.knex, a.sub), q, presentApiKey);
    },
  );

  r.delete(
    '/:id',
    {
      operationId: 'revokeApiKey',
      summary: 'Revoke an API key',
      ok: { status: 204, description: 'Revoked; it stops working at once' },
      errors: { 404: "No such key of the caller's" },
    },
    async (ctx) => {
      const a = requireSession(ctx);
      const id = ctx.params.id;
      if (!UUID.test(id)) throw new DomainError('NOT_FOUND', 'API key not found');
      await caughtUp(svc, await revokeApiKey(svc.cmd, a.sub as UserId, id.toLowerCase(), ctx.state.meta));
      ctx.status = 204;
    },
  );

  return r;
}
