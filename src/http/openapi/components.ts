import { API_KEY_SCOPES } from '../../events/api-key';
import { ROLES } from '../../events/user';
import { JsonSchema } from './types';

/**
 * Response schemas, written by hand to match what the presenters return (presentUser,
 * presentSession, presentHistory, presentService, presentPermission, presentContent,
 * presentApiKey, presentAudit, the login response, problem+json). The main objects forbid other
 * properties, so a field a presenter adds or renames fails the conformance check of the tests
 * until it is documented here.
 */

export const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

const str = (description?: string): JsonSchema => ({ type: 'string', ...(description ? { description } : {}) });
const nullable = (s: JsonSchema): JsonSchema => {
  if (typeof s.type === 'string') return { ...s, type: [s.type, 'null'] };
  return { anyOf: [s, { type: 'null' }] };
};
const uuid = (description?: string): JsonSchema => ({ type: 'string', format: 'uuid', ...(description ? { description } : {}) });
const instant = (description?: string): JsonSchema => ({ type: 'string', format: 'date-time', ...(description ? { description } : {}) });
const int = (description?: string, minimum?: number): JsonSchema => ({
  type: 'integer',
  ...(minimum !== undefined ? { minimum } : {}),
  ...(description ? { description } : {}),
});
const bool = (description?: string): JsonSchema => ({ type: 'boolean', ...(description ? { description } : {}) });
const arrayOf = (items: JsonSchema): JsonSchema => ({ type: 'array', items });

/** A closed object: every property listed is required (the presenters always send them). */
export const closed = (properties: Record<string, JsonSchema>, description?: string, optional: string[] = []): JsonSchema => ({
  type: 'object',
  ...(description ? { description } : {}),
  properties,
  required: Object.keys(properties).filter((k) => !optional.includes(k)),
  additionalProperties: false,
});

const pageOf = (item: string, description: string): JsonSchema => closed({ data: arrayOf(ref(item)), meta: ref('PageMeta') }, description);

const API_KEY_SCOPE_LIST: JsonSchema = {
  type: 'array',
  items: { type: 'string', enum: [...API_KEY_SCOPES] },
  description: '`read`: GET on the routes that take keys; `write`: changes there too, within the owner’s role (includes `read`)',
};

const actor = closed(
  { id: nullable(uuid('who did it; null for the system')), email: nullable(str('their current email, when known')) },
  'Who caused it',
);

const tokenFields = {
  accessToken: str('JWT for `Authorization: Bearer`, also set as the httpOnly cookie `access_token`'),
  refreshToken: str('Spent on use: each refresh returns a new one (also the httpOnly cookie `refresh_token`, path /api/auth)'),
  tokenType: { type: 'string', const: 'Bearer' },
  expiresIn: int('Access token lifetime in seconds', 1),
  sessionId: uuid(),
  deviceId: str(),
};

export const SCHEMAS: Record<string, JsonSchema> = {
  Problem: closed(
    {
      type: { type: 'string', format: 'uri', description: 'https://iam-es.dev/problems/<code in kebab case>' },
      title: str('The HTTP status in words'),
      status: int('The HTTP status', 100),
      detail: str('What went wrong, for a human'),
      code: {
        type: 'string',
        pattern: '^[A-Z][A-Z0-9_]*$',
        description: 'Stable machine-readable code, e.g. VALIDATION_FAILED, INVALID_CREDENTIALS, NOT_FOUND',
      },
      errors: {
        type: 'array',
        description: 'One entry per failing field (validation)',
        minItems: 1,
        items: closed({ path: str('The field, e.g. `email` or `serviceIds[1]`; empty for the whole body'), message: str() }),
      },
    },
    'RFC 9457 problem details (`application/problem+json`); never a stack trace',
    ['errors'],
  ),
  Message: closed({ message: str() }),
  PageMeta: closed({
    page: int('1-based', 1),
    limit: int('Items per page', 1),
    total: int('Items over all pages', 0),
    totalPages: int(undefined, 0),
  }),
  User: closed(
    {
      id: uuid(),
      email: { type: 'string' },
      username: nullable(str()),
      name: nullable(str('Display name: given directly, or "firstName lastName"')),
      firstName: nullable(str()),
      lastName: nullable(str()),
      profile: nullable({ type: 'object', description: 'Free-form JSON object of the user' }),
      role: { type: 'string', enum: [...ROLES] },
      emailVerified: bool(),
      pendingEmail: nullable(str('A new email waiting to be confirmed at that address')),
      isDeleted: bool('Soft deleted (deactivated)'),
      lastLoginAt: nullable(instant()),
      createdAt: instant(),
      updatedAt: instant(),
      createdBy: nullable(uuid()),
      updatedBy: nullable(uuid()),
    },
    'A user as the read model has it; never a password hash',
  ),
  Session: closed(
    {
      id: uuid(),
      deviceId: str(),
      userAgent: nullable(str()),
      ip: nullable(str()),
      createdAt: instant(),
      lastRefreshAt: nullable(instant()),
      refreshCount: int(undefined, 0),
      expiresAt: instant('Absolute end of the session'),
      current: bool('Whether this is the session of the calling token'),
    },
    'A device session',
  ),
  SessionList: closed({ data: arrayOf(ref('Session')) }, 'Live sessions, newest first (not paged)'),
  TokenPair: closed(tokenFields, 'A fresh token pair'),
  LoginResponse: closed(
    {
      ...tokenFields,
      user: {
        anyOf: [ref('User'), { type: 'null' }],
        description: 'The signed-in user (null only if the read model has not caught up in time)',
      },
    },
    'Tokens (also set as httpOnly cookies) and the user',
  ),
  RegisterResponse: {
    description:
      'With REQUIRE_EMAIL_VERIFICATION (default): `{ message }`, the same whether or not the email was taken. Without: signed in at once.',
    anyOf: [ref('Message'), ref('RegisteredAndSignedIn')],
  },
  RegisteredAndSignedIn: closed(
    { message: str(), ...tokenFields, user: { anyOf: [ref('User'), { type: 'null' }] } },
    'Registered and signed in (REQUIRE_EMAIL_VERIFICATION=false)',
  ),
  Me: closed({ user: ref('User'), session: closed({ id: uuid(), expiresAt: instant('When the access token expires') }) }),
  ProfileUpdated: closed({ message: str(), user: ref('User') }),
  PasswordChanged: closed({ message: str(), ...tokenFields }, 'A fresh token pair for this device; every other session ended'),
  UserRestored: closed({ message: str(), user: ref('User') }),
  HistoryEntry: closed(
    {
      eventId: uuid(),
      type: str('The event type, e.g. ProfileUpdated'),
      field: str('The field that changed'),
      oldValue: { description: 'Any JSON value; absent for passwords' },
      newValue: { description: 'Any JSON value; absent for passwords' },
      actor,
      at: instant(),
    },
    'One change in the audit trail of a user',
    ['oldValue', 'newValue'],
  ),
  UserPage: pageOf('User', 'A page of users'),
  HistoryPage: pageOf('HistoryEntry', 'A page of the audit trail'),
  ServiceRef: closed({ id: uuid(), name: str() }),
  Service: closed(
    {
      id: uuid(),
      name: str(),
      description: nullable(str()),
      createdBy: nullable(uuid()),
      updatedBy: nullable(uuid()),
      createdAt: instant(),
      updatedAt: instant(),
    },
    'A service of the catalogue',
  ),
  ServicePage: pageOf('Service', 'A page of services'),
  Permission: closed(
    {
      id: uuid(),
      name: str(),
      services: arrayOf(ref('ServiceRef')),
      createdBy: nullable(uuid()),
      updatedBy: nullable(uuid()),
      createdAt: instant(),
      updatedAt: instant(),
    },
    'A permission over services',
  ),
  PermissionPage: pageOf('Permission', 'A page of permissions'),
  GrantedPermission: closed({ id: uuid(), name: str(), services: arrayOf(ref('ServiceRef')) }),
  GrantedPermissionList: closed({ data: arrayOf(ref('GrantedPermission')) }, 'The permissions granted to a user, by name (not paged)'),
  AuthzCheck: closed({
    allowed: bool(),
    permissions: { type: 'array', items: { type: 'string' }, description: "Names of the caller's permissions over the service, sorted" },
  }),
  Content: closed(
    {
      id: uuid(),
      title: str(),
      body: str(),
      authorId: uuid(),
      author: closed({ id: uuid(), email: nullable(str()), name: nullable(str()) }),
      isDeleted: bool(),
      createdAt: instant(),
      updatedAt: instant(),
      createdBy: nullable(uuid()),
      updatedBy: nullable(uuid()),
    },
    'A piece of content',
  ),
  ContentPage: pageOf('Content', 'A page of content'),
  ApiKey: closed(
    {
      id: uuid(),
      name: str(),
      prefix: str('The first characters of the key, to recognise it'),
      permissionIds: arrayOf(uuid()),
      scopes: API_KEY_SCOPE_LIST,
      expiresAt: nullable(instant()),
      expired: bool(),
      createdAt: instant(),
    },
    'An API key as its owner sees it: never the key itself',
  ),
  ApiKeyCreated: closed(
    {
      id: uuid(),
      name: str(),
      prefix: str(),
      key: str('The key, shown this once: send it as `X-API-Key`'),
      permissionIds: arrayOf(uuid()),
      scopes: API_KEY_SCOPE_LIST,
      expiresAt: nullable(instant()),
      createdAt: instant(),
    },
    'The new key, with the key itself shown this once',
  ),
  ApiKeyPage: pageOf('ApiKey', 'A page of API keys'),
  AuditEntry: closed(
    {
      eventId: uuid(),
      type: str('The event type'),
      at: instant(),
      stream: str('The stream the event is in, e.g. user-<id>'),
      subjectId: nullable(uuid('The user the event is about')),
      actor,
      apiKeyId: nullable(uuid('The API key the change was made with')),
      ip: nullable(str()),
      userAgent: nullable(str()),
      data: { type: 'object', description: 'The event data, without secrets or their hashes' },
    },
    'One event of the log as an audit entry',
  ),
  AuditPage: pageOf('AuditEntry', 'A page of the audit log'),
  Health: closed({ status: { type: 'string', const: 'ok' } }),
  Readiness: closed({
    status: { type: 'string', enum: ['ok', 'unavailable'] },
    checks: arrayOf(
      closed({ name: { type: 'string', enum: ['postgres', 'redis', 'eventstore', 'projections'] }, ok: bool(), detail: str() }, undefined, [
        'detail',
      ]),
    ),
  }),
  OpenApiDocument: {
    type: 'object',
    description: 'This document',
    required: ['openapi', 'info', 'paths', 'components'],
    properties: {
      openapi: { type: 'string', const: '3.1.0' },
      info: { type: 'object' },
      paths: { type: 'object' },
      components: { type: 'object' },
    },
  },
};
