import type { AnySchema } from 'yup';
import { listQuerySchema } from '../list';
import { auditFilters, SORTS as AUDIT_SORTS } from '../routes/audit';
import { createApiKeySchema, FILTERS as API_KEY_FILTERS, SORTS as API_KEY_SORTS } from '../routes/api-keys';
import { checkSchema } from '../routes/authz';
import { createContentSchema, listFilters as contentFilters, SORTS as CONTENT_SORTS, updateContentSchema } from '../routes/content';
import {
  createSchema as createPermissionSchema,
  FILTERS as PERMISSION_FILTERS,
  SORTS as PERMISSION_SORTS,
  updateSchema as updatePermissionSchema,
} from '../routes/permissions';
import { HISTORY_SORTS, historyFilters } from '../routes/profile';
import { createSchema as createServiceSchema, FILTERS as SERVICE_FILTERS, SORTS as SERVICE_SORTS, updateSchema as updateServiceSchema } from '../routes/services';
import { grantsSchema, listFilters as userFilters, roleSchema, SORTS as USER_SORTS } from '../routes/users';
import {
  changePasswordSchema,
  deactivateSchema,
  emailOnlySchema,
  loginSchema,
  profileUpdateSchema,
  refreshSchema,
  registerSchema,
  resetPasswordSchema,
  tokenEmailSchema,
} from '../schemas';
import { DOC_ASSETS } from './assets';
import { ref, SCHEMAS } from './components';
import { JsonSchema, OpenApiDocument, Operation, Parameter, Response, SecurityRequirement } from './types';
import { yupToJsonSchema, yupToQueryParameters } from './yup-to-json-schema';

/**
 * The OpenAPI 3.1 document of every route, built from the yup schemas the routes validate with
 * (request bodies and query parameters) and the response schemas of ./components (checked
 * against every response of the integration tests, tests/helpers/openapi-conformance.ts).
 * tests/integration/openapi.test.ts checks that every route of the routers is here and nothing
 * else is.
 */

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Who may call: nobody in particular, a session (Bearer or cookie), or a session or an API key. */
type Auth = 'public' | 'session' | 'session-or-key' | 'refresh-token' | 'logout' | 'metrics-token';

interface Success {
  status: number;
  description: string;
  /** A component schema name, or none for a body-less answer (204). */
  schema?: string;
  contentType?: string;
  headers?: Response['headers'];
  /** Several content types (static assets, pages). */
  content?: Response['content'];
}

interface OpSpec {
  method: Method;
  path: string;
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  auth: Auth;
  /** Roles that may call (the others get a 403). */
  roles?: string[];
  body?: { schema: AnySchema; example?: unknown; required?: boolean };
  query?: AnySchema;
  /** Query parameters written by hand (a route that reads its query without a schema). */
  queryParams?: Parameter[];
  ok: Success | Success[];
  /** Further error statuses of this route and why (the common ones are added from auth, body, limits). */
  errors?: Record<number, string>;
  rateLimited?: boolean;
  /** Checks a password under the account's progressive lockout (src/infra/rate-limits.ts LoginThrottle). */
  lockout?: boolean;
}

const PROBLEM = 'application/problem+json';
const JSON_TYPE = 'application/json';

const SECURITY: Record<Auth, SecurityRequirement[]> = {
  public: [],
  session: [{ bearerAuth: [] }, { cookieAuth: [] }],
  'session-or-key': [{ bearerAuth: [] }, { cookieAuth: [] }, { apiKeyAuth: [] }],
  // The refresh token in the body (no credential needed), or the refresh_token cookie.
  'refresh-token': [{}, { refreshCookie: [] }],
  logout: [{}, { refreshCookie: [] }, { bearerAuth: [] }, { cookieAuth: [] }],
  // Open, unless METRICS_TOKEN is set.
  'metrics-token': [{}, { metricsToken: [] }],
};

const ID_PARAM: Parameter = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'A UUID (anything else is a 404)',
  schema: { type: 'string', format: 'uuid' },
};

const list = (sorts: Record<string, string>, filters: AnySchema): AnySchema => listQuerySchema(sorts, filters as Parameters<typeof listQuerySchema>[1]);

const ADMIN = ['admin'];

/** On every answer that carries tokens or a key (RFC 6749 §5.1, RFC 9700): never stored by any cache. */
const noStore = (required = true): Response['headers'] => ({
  'Cache-Control': { description: '`no-store`: the answer carries credentials and is never cached', required, schema: { type: 'string', const: 'no-store' } },
  Pragma: { description: '`no-cache`, for HTTP/1.0 caches', required, schema: { type: 'string', const: 'no-cache' } },
});

/** On every answer of a rate-limited route that reached its limit's count, success or 429 (draft-ietf-httpapi-ratelimit-headers-11). */
const RATE_LIMIT_HEADERS: Response['headers'] = {
  'RateLimit-Policy': {
    description:
      'The per-client limits of this route, one structured-field item each: name, `q` requests per `w` seconds, e.g. `"login-ip";q=30;w=60` (a route with two limits lists both)',
    required: true,
    schema: { type: 'string' },
  },
  RateLimit: {
    description: 'Where this client stands against each of them: `r` requests left, `t` seconds until the window starts again, e.g. `"login-ip";r=29;t=60`',
    required: true,
    schema: { type: 'string' },
  },
};

const EXAMPLE_EMAIL = 'ada@example.com';
const EXAMPLE_PASSWORD = 'correct horse battery staple';

const SPECS: OpSpec[] = [
  // Operations
  { method: 'get', path: '/health/live', operationId: 'healthLive', tag: 'Operations', summary: 'Liveness: the process answers', auth: 'public', ok: { status: 200, description: 'Alive', schema: 'Health' } },
  {
    method: 'get',
    path: '/health/ready',
    operationId: 'healthReady',
    tag: 'Operations',
    summary: 'Readiness: PostgreSQL, Redis, the event store and projection lag',
    auth: 'public',
    ok: [
      { status: 200, description: 'Ready', schema: 'Readiness' },
      { status: 503, description: 'A dependency is down or a projection is behind (the checks say which)', schema: 'Readiness' },
    ],
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    tag: 'Operations',
    summary: 'Prometheus metrics',
    description: 'Open, unless METRICS_TOKEN is set: then only with `Authorization: Bearer <METRICS_TOKEN>`.',
    auth: 'metrics-token',
    ok: { status: 200, description: 'The metrics, in the Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } },
    errors: { 401: 'METRICS_TOKEN is set and the request does not carry it' },
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'openApiDocument',
    tag: 'Operations',
    summary: 'This OpenAPI 3.1 document',
    auth: 'public',
    ok: { status: 200, description: 'The document', schema: 'OpenApiDocument' },
  },
  {
    method: 'get',
    path: '/docs',
    operationId: 'docs',
    tag: 'Operations',
    summary: 'Interactive API documentation (Swagger UI, served by this service)',
    auth: 'public',
    ok: { status: 200, description: 'The documentation page', content: { 'text/html': { schema: { type: 'string' } } } },
  },
  {
    method: 'get',
    path: '/docs/assets/{file}',
    operationId: 'docsAsset',
    tag: 'Operations',
    summary: 'A static file of the documentation page',
    auth: 'public',
    queryParams: [{ name: 'file', in: 'path', required: true, schema: { type: 'string', enum: Object.keys(DOC_ASSETS) } }],
    ok: {
      status: 200,
      description: 'The file',
      content: Object.fromEntries([...new Set(Object.values(DOC_ASSETS).map((a) => a.type.split(';')[0]))].map((t) => [t, { schema: { type: 'string' } }])),
    },
    errors: { 404: 'No such file' },
  },

  // Pages
  {
    method: 'get',
    path: '/reset-password',
    operationId: 'resetPasswordPage',
    tag: 'Pages',
    summary: 'The built-in page a password reset link opens',
    description: 'A form that posts the new password to `POST /api/auth/reset-password` (unless RESET_PASSWORD_URL points to a page of your own).',
    auth: 'public',
    queryParams: [
      { name: 'token', in: 'query', required: false, schema: { type: 'string' }, description: 'From the emailed link' },
      { name: 'email', in: 'query', required: false, schema: { type: 'string' }, description: 'From the emailed link' },
    ],
    ok: { status: 200, description: 'The page', content: { 'text/html': { schema: { type: 'string' } } } },
  },

  // Auth
  {
    method: 'post',
    path: '/api/auth/register',
    operationId: 'register',
    tag: 'Auth',
    summary: 'Sign up',
    description:
      'With REQUIRE_EMAIL_VERIFICATION (the default) the answer is the same whether or not the email was already registered (its owner gets an email instead), and a verification link is emailed. With REQUIRE_EMAIL_VERIFICATION=false it signs in at once, and a taken email is a 409.',
    auth: 'public',
    body: { schema: registerSchema, example: { email: EXAMPLE_EMAIL, password: EXAMPLE_PASSWORD, firstName: 'Ada', lastName: 'Lovelace' } },
    ok: { status: 201, description: 'Registered (and, without email verification, signed in: then with Cache-Control: no-store)', schema: 'RegisterResponse', headers: noStore(false) },
    errors: { 409: 'The username is taken (or, without email verification, the email)' },
    rateLimited: true,
  },
  {
    method: 'get',
    path: '/api/auth/verify-email',
    operationId: 'verifyEmailByLink',
    tag: 'Auth',
    summary: 'Verify an email address (the emailed link)',
    auth: 'public',
    query: tokenEmailSchema,
    ok: { status: 200, description: 'Verified', schema: 'Message' },
    errors: { 400: 'The link is invalid, spent or expired (INVALID_TOKEN)', 409: 'A change of email confirmed for an address that another account took since it was asked for (CONFLICT)' },
  },
  {
    method: 'post',
    path: '/api/auth/verify-email',
    operationId: 'verifyEmail',
    tag: 'Auth',
    summary: 'Verify an email address',
    auth: 'public',
    body: { schema: tokenEmailSchema },
    ok: { status: 200, description: 'Verified', schema: 'Message' },
    errors: { 400: 'The token is invalid, spent or expired (INVALID_TOKEN)', 409: 'A change of email confirmed for an address that another account took since it was asked for (CONFLICT)' },
  },
  {
    method: 'post',
    path: '/api/auth/resend-verification',
    operationId: 'resendVerification',
    tag: 'Auth',
    summary: 'Send a new verification link',
    description: 'The same answer for any address.',
    auth: 'public',
    body: { schema: emailOnlySchema, example: { email: EXAMPLE_EMAIL } },
    ok: { status: 202, description: 'Accepted', schema: 'Message' },
    rateLimited: true,
  },
  {
    method: 'post',
    path: '/api/auth/login',
    operationId: 'login',
    tag: 'Auth',
    summary: 'Sign in',
    description: 'Send one of `email`, `username` or `login` (either), and the password. The tokens are also set as httpOnly cookies. A wrong password and an unknown account get the same answer.',
    auth: 'public',
    body: { schema: loginSchema, example: { email: EXAMPLE_EMAIL, password: EXAMPLE_PASSWORD } },
    ok: { status: 200, description: 'Signed in', schema: 'LoginResponse', headers: noStore() },
    errors: { 401: 'Wrong or unknown credentials (INVALID_CREDENTIALS)', 403: 'The email is not verified yet (EMAIL_NOT_VERIFIED), or the account is deactivated' },
    rateLimited: true,
    lockout: true,
  },
  ...(['token', 'refresh'] as const).map(
    (name): OpSpec => ({
      method: 'post',
      path: `/api/auth/${name}`,
      operationId: name === 'token' ? 'refreshTokens' : 'refreshTokensAlias',
      tag: 'Auth',
      summary: name === 'token' ? 'Refresh: a new token pair for a refresh token' : 'Refresh (alias of POST /api/auth/token)',
      description:
        'The refresh token comes from the body or the `refresh_token` cookie. It is spent: presented again, it ends the whole session (reuse detection), unless it is the predecessor of the current token and comes back within REFRESH_GRACE_SECONDS (two tabs racing): that one is refused with REFRESH_TOKEN_ROTATED and the session lives on.',
      auth: 'refresh-token',
      body: { schema: refreshSchema, required: false },
      ok: { status: 200, description: 'A new pair; the old refresh token is spent', schema: 'LoginResponse', headers: noStore() },
      errors: { 401: 'The refresh token is invalid, spent or its session ended (SESSION_REVOKED, REFRESH_TOKEN_ROTATED)', 422: 'No refresh token in the body or the cookie' },
      rateLimited: true,
    }),
  ),
  {
    method: 'post',
    path: '/api/auth/logout',
    operationId: 'logout',
    tag: 'Auth',
    summary: 'Sign out of one session',
    description: "Ends the session of the given refresh token (body or cookie), or else the calling session; that session's tokens stop working at once.",
    auth: 'logout',
    body: { schema: refreshSchema, required: false },
    ok: { status: 200, description: 'Signed out', schema: 'Message' },
    errors: { 401: 'The refresh token is invalid, or no session is signed in' },
  },
  { method: 'post', path: '/api/auth/logout-all', operationId: 'logoutAll', tag: 'Auth', summary: 'Sign out of every session', auth: 'session', ok: { status: 200, description: 'Every session ended', schema: 'Message' } },
  { method: 'get', path: '/api/auth/sessions', operationId: 'listMySessions', tag: 'Auth', summary: "The caller's live sessions", auth: 'session', ok: { status: 200, description: 'Live sessions, newest first', schema: 'SessionList' } },
  {
    method: 'delete',
    path: '/api/auth/sessions/{id}',
    operationId: 'endMySession',
    tag: 'Auth',
    summary: 'End one of the caller’s sessions',
    auth: 'session',
    ok: { status: 204, description: 'Ended' },
    errors: { 404: "No such session of the caller's" },
  },
  { method: 'get', path: '/api/auth/me', operationId: 'me', tag: 'Auth', summary: 'The caller and their session (a session check)', auth: 'session', ok: { status: 200, description: 'The user and session', schema: 'Me' } },
  {
    method: 'post',
    path: '/api/auth/forgot-password',
    operationId: 'forgotPassword',
    tag: 'Auth',
    summary: 'Email a password reset link',
    description: 'The same answer for any address.',
    auth: 'public',
    body: { schema: emailOnlySchema, example: { email: EXAMPLE_EMAIL } },
    ok: { status: 202, description: 'Accepted', schema: 'Message' },
    rateLimited: true,
  },
  {
    method: 'post',
    path: '/api/auth/reset-password',
    operationId: 'resetPassword',
    tag: 'Auth',
    summary: 'Set a new password with a reset token',
    description: 'Every session of the user ends.',
    auth: 'public',
    body: { schema: resetPasswordSchema },
    ok: { status: 200, description: 'Password reset', schema: 'Message' },
    errors: { 400: 'The token is invalid, spent or expired (INVALID_TOKEN)', 409: 'A change of email confirmed for an address that another account took since it was asked for (CONFLICT)' },
  },

  // Profile
  {
    method: 'get',
    path: '/api/profile',
    operationId: 'getProfile',
    tag: 'Profile',
    summary: 'The caller',
    description: 'With an API key: the key’s owner. Every change to the account needs the owner’s session.',
    auth: 'session-or-key',
    ok: { status: 200, description: 'The user', schema: 'User' },
  },
  ...(['put', 'patch'] as const).map(
    (method): OpSpec => ({
      method,
      path: '/api/profile',
      operationId: method === 'put' ? 'updateProfile' : 'patchProfile',
      tag: 'Profile',
      summary: method === 'put' ? 'Update the caller’s profile' : 'Update the caller’s profile (same as PUT)',
      description:
        'Only the fields sent change, all or none. A new `email` needs `currentPassword` and stays pending until confirmed from the link sent to it; it is claimed only then, and the answer is the same whether or not another account has it (its owner gets a notice instead of a link). `role`, `emailVerified` and the like are not writable here (422).',
      auth: 'session',
      body: { schema: profileUpdateSchema, example: { firstName: 'Ada', lastName: 'Lovelace' } },
      ok: { status: 200, description: 'Updated', schema: 'ProfileUpdated' },
      errors: { 400: 'The current password is wrong, or was replaced by a password change while this request ran (WRONG_PASSWORD)', 409: 'The username is taken' },
      lockout: true,
    }),
  ),
  {
    method: 'put',
    path: '/api/profile/password',
    operationId: 'changePassword',
    tag: 'Profile',
    summary: 'Change the password',
    description: 'Answers a fresh token pair for this device (also as cookies); every other session ends and a notification is emailed.',
    auth: 'session',
    body: { schema: changePasswordSchema },
    ok: { status: 200, description: 'Changed', schema: 'PasswordChanged', headers: noStore() },
    errors: { 400: 'The current password is wrong, or was replaced by a password change while this request ran: of parallel changes with one password, one wins (WRONG_PASSWORD)' },
    lockout: true,
  },
  {
    method: 'delete',
    path: '/api/profile',
    operationId: 'deactivateProfile',
    tag: 'Profile',
    summary: 'Deactivate the caller’s account',
    description: 'A soft delete: every session ends and an email is sent.',
    auth: 'session',
    body: { schema: deactivateSchema },
    ok: { status: 200, description: 'Deactivated', schema: 'Message' },
    errors: { 400: 'The current password is wrong, or was replaced by a password change while this request ran (WRONG_PASSWORD)' },
    lockout: true,
  },
  {
    method: 'get',
    path: '/api/profile/history',
    operationId: 'profileHistory',
    tag: 'Profile',
    summary: 'The audit trail of the caller',
    description: 'Newest first by default. Password changes appear without values. With an API key: the trail of the key’s owner.',
    auth: 'session-or-key',
    query: list(HISTORY_SORTS, historyFilters),
    ok: { status: 200, description: 'A page of changes', schema: 'HistoryPage' },
  },

  // Users
  { method: 'get', path: '/api/users', operationId: 'listUsers', tag: 'Users', summary: 'List users', auth: 'session', roles: ADMIN, query: list(USER_SORTS, userFilters), ok: { status: 200, description: 'A page of users', schema: 'UserPage' } },
  { method: 'get', path: '/api/users/{id}', operationId: 'getUser', tag: 'Users', summary: 'One user', auth: 'session', roles: ADMIN, ok: { status: 200, description: 'The user', schema: 'User' }, errors: { 404: 'No such user' } },
  {
    method: 'put',
    path: '/api/users/{id}/role',
    operationId: 'changeUserRole',
    tag: 'Users',
    summary: 'Change a user’s role',
    description: 'Roles are case-insensitive. The user’s sessions end, and tokens issued before lose the old role at once.',
    auth: 'session',
    roles: ADMIN,
    body: { schema: roleSchema, example: { role: 'editor' } },
    ok: { status: 200, description: 'The user', schema: 'User' },
    errors: { 404: 'No such user', 409: 'Not on your own account' },
  },
  {
    method: 'delete',
    path: '/api/users/{id}',
    operationId: 'deactivateUser',
    tag: 'Users',
    summary: 'Deactivate a user (soft delete)',
    auth: 'session',
    roles: ADMIN,
    ok: { status: 200, description: 'Deactivated; their sessions ended', schema: 'Message' },
    errors: { 404: 'No such user', 409: 'Not on your own account, or already deactivated' },
  },
  {
    method: 'put',
    path: '/api/users/{id}/restore',
    operationId: 'restoreUser',
    tag: 'Users',
    summary: 'Restore a deactivated user',
    auth: 'session',
    roles: ADMIN,
    ok: { status: 200, description: 'Restored', schema: 'UserRestored' },
    errors: { 404: 'No such user', 409: 'Not on your own account, or not deactivated' },
  },
  {
    method: 'get',
    path: '/api/users/{id}/history',
    operationId: 'userHistory',
    tag: 'Users',
    summary: 'The audit trail of a user',
    auth: 'session',
    roles: ADMIN,
    query: list(HISTORY_SORTS, historyFilters),
    ok: { status: 200, description: 'A page of changes', schema: 'HistoryPage' },
    errors: { 404: 'No such user' },
  },
  { method: 'get', path: '/api/users/{id}/sessions', operationId: 'userSessions', tag: 'Users', summary: 'A user’s live sessions', auth: 'session', roles: ADMIN, ok: { status: 200, description: 'Live sessions', schema: 'SessionList' }, errors: { 404: 'No such user' } },
  { method: 'delete', path: '/api/users/{id}/sessions', operationId: 'endUserSessions', tag: 'Users', summary: 'End every session of a user', auth: 'session', roles: ADMIN, ok: { status: 204, description: 'Ended' }, errors: { 404: 'No such user' } },
  {
    method: 'get',
    path: '/api/users/{id}/permissions',
    operationId: 'userPermissions',
    tag: 'Users',
    summary: 'The permissions granted to a user',
    auth: 'session',
    roles: ADMIN,
    ok: { status: 200, description: 'The granted permissions', schema: 'GrantedPermissionList' },
    errors: { 404: 'No such user' },
  },
  {
    method: 'put',
    path: '/api/users/{id}/permissions',
    operationId: 'setUserPermissions',
    tag: 'Users',
    summary: 'Set the permissions granted to a user',
    description: 'Replaces the whole set; every id must be an existing permission.',
    auth: 'session',
    roles: ADMIN,
    body: { schema: grantsSchema, example: { permissionIds: [] } },
    ok: { status: 200, description: 'The granted permissions', schema: 'GrantedPermissionList' },
    errors: { 404: 'No such user' },
  },

  // Content
  {
    method: 'get',
    path: '/api/content',
    operationId: 'listContent',
    tag: 'Content',
    summary: 'List content',
    auth: 'session-or-key',
    query: list(CONTENT_SORTS, contentFilters),
    ok: { status: 200, description: 'A page of content', schema: 'ContentPage' },
  },
  { method: 'get', path: '/api/content/{id}', operationId: 'getContent', tag: 'Content', summary: 'One piece of content', auth: 'session-or-key', ok: { status: 200, description: 'The content', schema: 'Content' }, errors: { 404: 'No such content' } },
  {
    method: 'post',
    path: '/api/content',
    operationId: 'createContent',
    tag: 'Content',
    summary: 'Create content',
    auth: 'session-or-key',
    roles: ['admin', 'editor'],
    body: { schema: createContentSchema, example: { title: 'Hello', body: 'The first post.' } },
    ok: {
      status: 201,
      description: 'Created',
      schema: 'Content',
      headers: { Location: { description: 'The URL of the new content', required: true, schema: { type: 'string' } } },
    },
  },
  {
    method: 'put',
    path: '/api/content/{id}',
    operationId: 'updateContent',
    tag: 'Content',
    summary: 'Update content',
    description: 'Admins: all content; editors: their own only.',
    auth: 'session-or-key',
    body: { schema: updateContentSchema, example: { title: 'Hello again' } },
    ok: { status: 200, description: 'Updated', schema: 'Content' },
    errors: { 403: 'Viewers cannot change content; editors only their own', 404: 'No such content' },
  },
  {
    method: 'delete',
    path: '/api/content/{id}',
    operationId: 'deleteContent',
    tag: 'Content',
    summary: 'Delete content (soft delete)',
    description: 'Admins: all content; editors: their own only.',
    auth: 'session-or-key',
    ok: { status: 204, description: 'Deleted' },
    errors: { 403: 'Viewers cannot change content; editors only their own', 404: 'No such content' },
  },

  // API keys
  {
    method: 'post',
    path: '/api/api-keys',
    operationId: 'createApiKey',
    tag: 'API keys',
    summary: 'Create an API key',
    description:
      'The key is in the answer this once. It acts as the caller, limited to its scopes and to the given permissions (which the caller must hold), and can never manage keys, sessions, passwords or users. `scopes` (default `["read"]`): `read` lets it make GET requests on the routes that take keys (content, authz checks, the owner’s profile and history); `write` lets it also change content, within the owner’s role, and includes `read`. `permissionIds` limit what authz checks count for it.',
    auth: 'session',
    body: { schema: createApiKeySchema, example: { name: 'CI', scopes: ['read'], permissionIds: [] } },
    ok: { status: 201, description: 'Created', schema: 'ApiKeyCreated', headers: noStore() },
  },
  { method: 'get', path: '/api/api-keys', operationId: 'listApiKeys', tag: 'API keys', summary: "The caller's API keys", auth: 'session', query: list(API_KEY_SORTS, API_KEY_FILTERS), ok: { status: 200, description: 'A page of keys (expired ones included, marked)', schema: 'ApiKeyPage' } },
  { method: 'delete', path: '/api/api-keys/{id}', operationId: 'revokeApiKey', tag: 'API keys', summary: 'Revoke an API key', auth: 'session', ok: { status: 204, description: 'Revoked; it stops working at once' }, errors: { 404: "No such key of the caller's" } },

  // Audit
  {
    method: 'get',
    path: '/api/audit',
    operationId: 'audit',
    tag: 'Audit',
    summary: 'The event log as audit entries',
    description: '`userId` matches events about that user (their stream, sessions and keys); `from` and `to` are inclusive.',
    auth: 'session',
    roles: ADMIN,
    query: list(AUDIT_SORTS, auditFilters),
    ok: { status: 200, description: 'A page of entries', schema: 'AuditPage' },
  },

  // Services
  {
    method: 'get',
    path: '/api/services',
    operationId: 'listServices',
    tag: 'Services',
    summary: 'List services',
    description: 'An unknown query parameter is a 422.',
    auth: 'session',
    roles: ADMIN,
    query: list(SERVICE_SORTS, SERVICE_FILTERS),
    ok: { status: 200, description: 'A page of services', schema: 'ServicePage' },
  },
  { method: 'get', path: '/api/services/{id}', operationId: 'getService', tag: 'Services', summary: 'One service', auth: 'session', roles: ADMIN, ok: { status: 200, description: 'The service', schema: 'Service' }, errors: { 404: 'No such service' } },
  {
    method: 'post',
    path: '/api/services',
    operationId: 'createService',
    tag: 'Services',
    summary: 'Create a service',
    auth: 'session',
    roles: ADMIN,
    body: { schema: createServiceSchema, example: { name: 'Billing', description: 'Invoices and payments' } },
    ok: { status: 201, description: 'Created', schema: 'Service' },
    errors: { 409: 'The name is taken', 503: 'Saved but not readable yet; GET it again' },
  },
  {
    method: 'put',
    path: '/api/services/{id}',
    operationId: 'updateService',
    tag: 'Services',
    summary: 'Update a service',
    auth: 'session',
    roles: ADMIN,
    body: { schema: updateServiceSchema, example: { description: 'Invoices, payments and refunds' } },
    ok: { status: 200, description: 'Updated', schema: 'Service' },
    errors: { 404: 'No such service', 409: 'The name is taken', 503: 'Saved but not readable yet; GET it again' },
  },
  { method: 'delete', path: '/api/services/{id}', operationId: 'deleteService', tag: 'Services', summary: 'Delete a service (for good)', auth: 'session', roles: ADMIN, ok: { status: 204, description: 'Deleted' }, errors: { 404: 'No such service' } },

  // Permissions
  {
    method: 'get',
    path: '/api/permissions',
    operationId: 'listPermissions',
    tag: 'Permissions',
    summary: 'List permissions',
    description: 'An unknown query parameter is a 422.',
    auth: 'session',
    roles: ADMIN,
    query: list(PERMISSION_SORTS, PERMISSION_FILTERS),
    ok: { status: 200, description: 'A page of permissions', schema: 'PermissionPage' },
  },
  { method: 'get', path: '/api/permissions/{id}', operationId: 'getPermission', tag: 'Permissions', summary: 'One permission', auth: 'session', roles: ADMIN, ok: { status: 200, description: 'The permission', schema: 'Permission' }, errors: { 404: 'No such permission' } },
  {
    method: 'post',
    path: '/api/permissions',
    operationId: 'createPermission',
    tag: 'Permissions',
    summary: 'Create a permission over services',
    description: 'Every service id must exist (422, per `serviceIds[i]`).',
    auth: 'session',
    roles: ADMIN,
    body: { schema: createPermissionSchema, example: { name: 'billing:read', serviceIds: ['00000000-0000-4000-8000-000000000000'] } },
    ok: { status: 201, description: 'Created, with its services', schema: 'Permission' },
    errors: { 409: 'The name is taken', 503: 'Saved but not readable yet; GET it again' },
  },
  {
    method: 'put',
    path: '/api/permissions/{id}',
    operationId: 'updatePermission',
    tag: 'Permissions',
    summary: 'Update a permission',
    auth: 'session',
    roles: ADMIN,
    body: { schema: updatePermissionSchema, example: { name: 'billing:write' } },
    ok: { status: 200, description: 'Updated', schema: 'Permission' },
    errors: { 404: 'No such permission', 409: 'The name is taken', 503: 'Saved but not readable yet; GET it again' },
  },
  { method: 'delete', path: '/api/permissions/{id}', operationId: 'deletePermission', tag: 'Permissions', summary: 'Delete a permission', auth: 'session', roles: ADMIN, ok: { status: 204, description: 'Deleted; its grants go with it' }, errors: { 404: 'No such permission' } },

  // Authz
  {
    method: 'get',
    path: '/api/authz/check',
    operationId: 'checkAccess',
    tag: 'Authz',
    summary: 'Whether the caller holds a permission over a service',
    description: '`service` is an id or a name (case-insensitive); an unknown service is simply not allowed. With an API key, only the key’s permissions count. An unknown query parameter is a 422.',
    auth: 'session-or-key',
    query: checkSchema,
    ok: { status: 200, description: 'The answer', schema: 'AuthzCheck' },
  },
];

const TAGS = [
  { name: 'Auth', description: 'Sign-up, email verification, sign-in, tokens, sessions, password reset' },
  { name: 'Profile', description: 'The signed-in user' },
  { name: 'Users', description: 'User administration (admin)' },
  { name: 'Content', description: 'Content (any signed-in role reads; admins and editors write)' },
  { name: 'API keys', description: "The caller's API keys" },
  { name: 'Services', description: 'The service catalogue (admin)' },
  { name: 'Permissions', description: 'Permissions over services (admin)' },
  { name: 'Authz', description: 'Authorisation checks for the applications behind this service' },
  { name: 'Audit', description: 'The event log as an audit trail (admin)' },
  { name: 'Operations', description: 'Health and this documentation' },
  { name: 'Pages', description: 'Built-in HTML pages' },
];

const UNSAFE = new Set<Method>(['post', 'put', 'patch', 'delete']);

const problem = (description: string): Response => ({ description, content: { [PROBLEM]: { schema: ref('Problem') } } });

/** The error statuses of an operation: its own and those its auth, body, query and limits bring. */
function errorsOf(spec: OpSpec): Map<number, string[]> {
  const errors = new Map<number, string[]>();
  const add = (status: number, why: string) => errors.set(status, [...(errors.get(status) ?? []), why]);
  if (UNSAFE.has(spec.method)) {
    add(400, 'The body is not valid JSON (MALFORMED_JSON)');
    add(403, 'A cookie-authenticated change from an untrusted origin (CSRF_REJECTED)');
    add(413, 'The body is larger than 64 KiB');
    add(415, 'The body is not JSON');
    add(422, 'The body is nested too deeply');
    add(503, 'Too many concurrent changes to one account or session outlasted the retries (CONTENTION); see Retry-After');
  }
  if (spec.body || spec.query) add(422, 'Invalid fields, text that cannot be stored (NUL, an unpaired surrogate) included: every failing field is listed in `errors` (VALIDATION_FAILED)');
  if (spec.auth === 'session' || spec.auth === 'session-or-key') {
    add(401, 'Not signed in, or the token is invalid, expired or revoked (UNAUTHENTICATED)');
    if (spec.auth === 'session') add(403, 'API keys cannot be used here');
    if (spec.auth === 'session-or-key' && UNSAFE.has(spec.method)) add(403, 'An API key without the `write` scope');
    add(503, 'Redis is unavailable, so the revocation of the token cannot be checked (UNAVAILABLE); see Retry-After');
  }
  if (spec.roles) add(403, `Needs the ${spec.roles.join(' or ')} role`);
  if (spec.rateLimited) {
    add(429, 'Too many requests from this client (RATE_LIMITED); see Retry-After');
    add(503, 'The rate limiter is unavailable');
  }
  if (spec.lockout) {
    add(429, 'Too many failed password attempts for this account: locked for a while (RATE_LIMITED); see Retry-After');
    add(503, 'The lockout store is unavailable');
  }
  for (const [status, why] of Object.entries(spec.errors ?? {})) add(Number(status), why);
  return errors;
}

function operationOf(spec: OpSpec): Operation {
  const responses: Record<string, Response> = {};
  for (const ok of Array.isArray(spec.ok) ? spec.ok : [spec.ok]) {
    const content = ok.content ?? (ok.schema ? { [ok.contentType ?? JSON_TYPE]: { schema: ref(ok.schema) } } : undefined);
    const headers = { ...ok.headers, ...(spec.rateLimited ? RATE_LIMIT_HEADERS : {}) };
    responses[String(ok.status)] = { description: ok.description, ...(Object.keys(headers).length ? { headers } : {}), ...(content ? { content } : {}) };
  }
  for (const [status, why] of [...errorsOf(spec)].sort(([a], [b]) => a - b)) {
    if (responses[String(status)]) throw new Error(`${spec.operationId}: ${status} is both a success and an error`);
    const r = problem(why.join('; '));
    if (status === 429 || status === 503) {
      const retryAfter = { 'Retry-After': { description: 'Seconds until a new attempt may succeed', required: true, schema: { type: 'integer', minimum: 0 } } };
      r.headers = status === 429 && spec.rateLimited ? { ...retryAfter, ...RATE_LIMIT_HEADERS } : retryAfter;
    }
    if (status === 401 && spec.auth !== 'public') r.headers = { 'WWW-Authenticate': { description: '`Bearer`', schema: { type: 'string' } } };
    responses[String(status)] = r;
  }
  const parameters: Parameter[] = [];
  if (spec.path.includes('{id}')) parameters.push(ID_PARAM);
  if (spec.queryParams) parameters.push(...spec.queryParams);
  if (spec.query) parameters.push(...yupToQueryParameters(spec.query));
  const op: Operation = {
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.description || spec.roles ? { description: [spec.description, spec.roles ? `Roles: ${spec.roles.join(', ')}.` : ''].filter(Boolean).join('\n\n') } : {}),
    tags: [spec.tag],
    ...(parameters.length ? { parameters } : {}),
    responses,
    security: SECURITY[spec.auth],
  };
  if (spec.body) {
    const schema: JsonSchema = yupToJsonSchema(spec.body.schema);
    const required = spec.body.required ?? (Array.isArray(schema.required) && schema.required.length > 0);
    op.requestBody = { required, content: { [JSON_TYPE]: { schema, ...(spec.body.example !== undefined ? { example: spec.body.example } : {}) } } };
  }
  return op;
}

const DESCRIPTION = `An event-sourced identity and access API: sign-up with email verification, sign-in, rotating refresh tokens, device sessions, profiles with an audit trail, users and roles, a service catalogue with permissions, content, API keys and the audit log.

**Authentication.** Send \`Authorization: Bearer <accessToken>\` (from \`POST /api/auth/login\`), or rely on the httpOnly \`access_token\` cookie that sign-in sets (a cookie-authenticated change must come from a trusted origin). Where stated, an \`X-API-Key\` header works too: it acts as its owner, limited to its scopes (\`read\` by default; \`write\` to change content) and its permissions.

**Errors** are RFC 9457 problem details (\`application/problem+json\`) with a stable \`code\`; a validation failure lists every failing field in \`errors\`. An unknown path is a 404 and a method a path does not take is a 405 (with \`Allow\`), both as problem details.

**Rate limits.** Routes limited per client (sign-in, sign-up, refresh, and those that send email) state their limits on every answer with the IETF \`RateLimit-Policy\` and \`RateLimit\` fields (draft-ietf-httpapi-ratelimit-headers), so a client can slow down before it is refused; a 429 adds \`Retry-After\`. Answers that carry tokens or a new API key send \`Cache-Control: no-store\`.

**Lists** take \`page\` (1-based), \`limit\` (default 20, at most 100) and \`sort\` (a documented field, \`-field\` for descending), and answer \`{ data, meta: { page, limit, total, totalPages } }\`.`;

/** Builds the document. Cheap enough to call per process; callers keep the result. */
export function buildOpenApiDocument(): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const spec of SPECS) {
    const item = (paths[spec.path] ??= {});
    if (item[spec.method]) throw new Error(`${spec.method.toUpperCase()} ${spec.path} is specified twice`);
    item[spec.method] = operationOf(spec);
  }
  const ids = SPECS.map((s) => s.operationId);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup) throw new Error(`operationId ${dup} is used twice`);
  return {
    openapi: '3.1.0',
    info: { title: 'iam-es: identity and access API', version: '0.1.0', description: DESCRIPTION, license: { name: 'MIT', identifier: 'MIT' } },
    servers: [{ url: '/', description: 'This server' }],
    tags: TAGS,
    paths,
    components: {
      schemas: SCHEMAS,
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'The `accessToken` of the login response' },
        cookieAuth: { type: 'apiKey', in: 'cookie', name: 'access_token', description: 'Set by sign-in (httpOnly); changes must come from a trusted origin' },
        apiKeyAuth: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key from `POST /api/api-keys`; only where stated' },
        refreshCookie: { type: 'apiKey', in: 'cookie', name: 'refresh_token', description: 'Set by sign-in (httpOnly, path /api/auth)' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, when it is set (GET /metrics only)' },
      },
    },
  };
}

let cached: OpenApiDocument | undefined;

/** The document, built once. */
export const openApiDocument = (): OpenApiDocument => (cached ??= buildOpenApiDocument());
