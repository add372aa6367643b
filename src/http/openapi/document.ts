import { ref, SCHEMAS } from './components';
import { Auth, Method, RouteOperation } from './operation';
import { JsonSchema, OpenApiDocument, Operation, Parameter, Response, SecurityRequirement } from './types';
import { yupToJsonSchema, yupToQueryParameters } from './yup-to-json-schema';

/**
 * The OpenAPI 3.1 document, assembled from the operations the routers recorded as their routes
 * were registered (src/http/api-router.ts): request bodies and query parameters come from the
 * yup schemas the routes validate with, the response schemas from ./components (checked against
 * every response of the integration tests, tests/helpers/openapi-conformance.ts). What is the
 * same for every route lives here: the errors an auth kind, a body or a limit brings, the
 * security schemes, the tags and the introduction. tests/integration/openapi.test.ts checks that
 * every route of the routers is here and nothing else is.
 */

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

/** On every answer of a rate-limited route that reached its limit's count, success or 429 (draft-ietf-httpapi-ratelimit-headers-11). */
const RATE_LIMIT_HEADERS: Response['headers'] = {
  'RateLimit-Policy': {
    description:
      'The per-client limits of this route, one structured-field item each: name, `q` requests per `w` seconds, e.g. `"login-ip";q=30;w=60` (a route with two limits lists both)',
    required: true,
    schema: { type: 'string' },
  },
  RateLimit: {
    description:
      'Where this client stands against each of them: `r` requests left, `t` seconds until the window starts again, e.g. `"login-ip";r=29;t=60`',
    required: true,
    schema: { type: 'string' },
  },
};

/** The document's sections, in the order it shows them. */
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
function errorsOf(spec: RouteOperation): Map<number, string[]> {
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
  if (spec.body || spec.query)
    add(
      422,
      'Invalid fields, text that cannot be stored (NUL, an unpaired surrogate) included: every failing field is listed in `errors` (VALIDATION_FAILED)',
    );
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

function operationOf(spec: RouteOperation): Operation {
  const responses: Record<string, Response> = {};
  for (const ok of Array.isArray(spec.ok) ? spec.ok : [spec.ok]) {
    const content = ok.content ?? (ok.schema ? { [ok.contentType ?? JSON_TYPE]: { schema: ref(ok.schema) } } : undefined);
    const headers = { ...ok.headers, ...(spec.rateLimited ? RATE_LIMIT_HEADERS : {}) };
    responses[String(ok.status)] = {
      description: ok.description,
      ...(Object.keys(headers).length ? { headers } : {}),
      ...(content ? { content } : {}),
    };
  }
  for (const [status, why] of [...errorsOf(spec)].sort(([a], [b]) => a - b)) {
    if (responses[String(status)]) throw new Error(`${spec.operationId}: ${status} is both a success and an error`);
    const r = problem(why.join('; '));
    if (status === 429 || status === 503) {
      const retryAfter = {
        'Retry-After': { description: 'Seconds until a new attempt may succeed', required: true, schema: { type: 'integer', minimum: 0 } },
      };
      r.headers = status === 429 && spec.rateLimited ? { ...retryAfter, ...RATE_LIMIT_HEADERS } : retryAfter;
    }
    if (status === 401 && spec.auth !== 'public')
      r.headers = { 'WWW-Authenticate': { description: '`Bearer`', schema: { type: 'string' } } };
    responses[String(status)] = r;
  }
  const parameters: Parameter[] = [];
  if (spec.path.includes('{id}')) parameters.push(ID_PARAM);
  if (spec.queryParams) parameters.push(...spec.queryParams);
  if (spec.query) parameters.push(...yupToQueryParameters(spec.query));
  const op: Operation = {
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.description || spec.roles
      ? { description: [spec.description, spec.roles ? `Roles: ${spec.roles.join(', ')}.` : ''].filter(Boolean).join('\n\n') }
      : {}),
    tags: [spec.tag],
    ...(parameters.length ? { parameters } : {}),
    responses,
    security: SECURITY[spec.auth],
  };
  if (spec.body) {
    const schema: JsonSchema = yupToJsonSchema(spec.body.schema);
    const required = spec.body.required ?? (Array.isArray(schema.required) && schema.required.length > 0);
    op.requestBody = {
      required,
      content: { [JSON_TYPE]: { schema, ...(spec.body.example !== undefined ? { example: spec.body.example } : {}) } },
    };
  }
  return op;
}

const DESCRIPTION = `An event-sourced identity and access API: sign-up with email verification, sign-in, rotating refresh tokens, device sessions, profiles with an audit trail, users and roles, a service catalogue with permissions, content, API keys and the audit log.

**Authentication.** Send \`Authorization: Bearer <accessToken>\` (from \`POST /api/auth/login\`), or rely on the httpOnly \`access_token\` cookie that sign-in sets (a cookie-authenticated change must come from a trusted origin). Where stated, an \`X-API-Key\` header works too: it acts as its owner, limited to its scopes (\`read\` by default; \`write\` to change content) and its permissions.

**Errors** are RFC 9457 problem details (\`application/problem+json\`) with a stable \`code\`; a validation failure lists every failing field in \`errors\`. An unknown path is a 404 and a method a path does not take is a 405 (with \`Allow\`), both as problem details.

**Rate limits.** Routes limited per client (sign-in, sign-up, refresh, and those that send email) state their limits on every answer with the IETF \`RateLimit-Policy\` and \`RateLimit\` fields (draft-ietf-httpapi-ratelimit-headers), so a client can slow down before it is refused; a 429 adds \`Retry-After\`. Answers that carry tokens or a new API key send \`Cache-Control: no-store\`.

**Lists** take \`page\` (1-based), \`limit\` (default 20, at most 100) and \`sort\` (a documented field, \`-field\` for descending), and answer \`{ data, meta: { page, limit, total, totalPages } }\`.`;

/** The document of these operations, in their order. Cheap enough to build per process; callers keep the result. */
export function openApiDocumentOf(operations: readonly RouteOperation[]): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const spec of operations) {
    const item = (paths[spec.path] ??= {});
    if (item[spec.method]) throw new Error(`${spec.method.toUpperCase()} ${spec.path} is specified twice`);
    item[spec.method] = operationOf(spec);
  }
  const ids = operations.map((s) => s.operationId);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup) throw new Error(`operationId ${dup} is used twice`);
  return {
    openapi: '3.1.0',
    info: {
      title: 'iam-es: identity and access API',
      version: '0.1.0',
      description: DESCRIPTION,
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/', description: 'This server' }],
    tags: TAGS,
    paths,
    components: {
      schemas: SCHEMAS,
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'The `accessToken` of the login response' },
        cookieAuth: {
          type: 'apiKey',
          in: 'cookie',
          name: 'access_token',
          description: 'Set by sign-in (httpOnly); changes must come from a trusted origin',
        },
        apiKeyAuth: {
          type: 'apiKey',
          in: 'header',
          name: 'X-API-Key',
          description: 'An API key from `POST /api/api-keys`; only where stated',
        },
        refreshCookie: { type: 'apiKey', in: 'cookie', name: 'refresh_token', description: 'Set by sign-in (httpOnly, path /api/auth)' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, when it is set (GET /metrics only)' },
      },
    },
  };
}
