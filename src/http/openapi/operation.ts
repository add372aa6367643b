import type { AnySchema } from 'yup';
import type { Role } from '../../events/user';
import { Parameter, Response } from './types';

/**
 * What a route declares about itself for the OpenAPI document, beside its registration
 * (src/http/api-router.ts). The document (./document.ts) turns it into an operation and adds what
 * follows from it: the errors its auth, body, query and limits bring, the security schemes, the
 * `{id}` parameter, the rate-limit headers.
 */

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Who may call: nobody in particular, a session (Bearer or cookie), or a session or an API key. */
export type Auth = 'public' | 'session' | 'session-or-key' | 'refresh-token' | 'logout' | 'metrics-token';

export interface Success {
  status: number;
  description: string;
  /** A component schema name, or none for a body-less answer (204). */
  schema?: string;
  contentType?: string;
  headers?: Response['headers'];
  /** Several content types (static assets, pages). */
  content?: Response['content'];
}

/** A route's operation as it declares it; `tag`, `auth` and `roles` default to its router's. */
export interface OperationSpec {
  operationId: string;
  tag?: string;
  summary: string;
  description?: string;
  auth?: Auth;
  /** Roles that may call (the others get a 403). */
  roles?: readonly Role[];
  body?: { schema: AnySchema; example?: unknown; required?: boolean };
  query?: AnySchema;
  /** Parameters written by hand (a route that reads its query without a schema, a path parameter other than `id`). */
  queryParams?: Parameter[];
  ok: Success | Success[];
  /** Further error statuses of this route and why (the common ones are added from auth, body, limits). */
  errors?: Record<number, string>;
  rateLimited?: boolean;
  /** Checks a password under the account's progressive lockout (src/infra/rate-limits.ts LoginThrottle). */
  lockout?: boolean;
}

/** An operation as its router recorded it: where it is, and what it declared with the router's defaults filled in. */
export interface RouteOperation extends Omit<OperationSpec, 'tag' | 'auth'> {
  method: Method;
  /** The OpenAPI path (`/api/users/{id}`), prefix included. */
  path: string;
  tag: string;
  auth: Auth;
}

/** On every answer that carries tokens or a key (RFC 6749 §5.1, RFC 9700): never stored by any cache. */
export const noStoreHeaders = (required = true): Response['headers'] => ({
  'Cache-Control': {
    description: '`no-store`: the answer carries credentials and is never cached',
    required,
    schema: { type: 'string', const: 'no-store' },
  },
  Pragma: { description: '`no-cache`, for HTTP/1.0 caches', required, schema: { type: 'string', const: 'no-cache' } },
});
