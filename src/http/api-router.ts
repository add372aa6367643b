import Router, { RouterMiddleware } from '@koa/router';
import type { Role } from '../events/user';
import { Auth, Method, OperationSpec, RouteOperation } from './openapi/operation';
import { AppState } from './types';

interface RouterDefaults {
  prefix?: string;
  /** The document's section for this router's operations. */
  tag: string;
  /** Who may call every route of this router, unless a route says otherwise. */
  auth?: Auth;
  roles?: readonly Role[];
}

type RouteMiddleware = RouterMiddleware<AppState>;

/** `/api/users/:id` as OpenAPI writes it: `/api/users/{id}`. */
const openApiPath = (path: string | RegExp): string => String(path).replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/**
 * A @koa/router router whose routes declare their OpenAPI operation where they are registered:
 * `get`, `post`, `put`, `patch` and `delete` take the operation before the middleware, register
 * the route, and record the operation under the path the router really matches (prefix
 * included). The document is assembled from these records (src/http/routes/index.ts), so no
 * other file restates a route. Router-wide middleware (authentication, a role) goes through
 * `use`, as on any router, beside the defaults that document it.
 */
export class ApiRouter {
  readonly router: Router<AppState>;
  readonly operations: RouteOperation[] = [];

  constructor(private readonly defaults: RouterDefaults) {
    this.router = defaults.prefix ? new Router<AppState>({ prefix: defaults.prefix }) : new Router<AppState>();
  }

  use(...middleware: RouteMiddleware[]): this {
    this.router.use(...middleware);
    return this;
  }

  get(path: string, operation: OperationSpec, ...middleware: RouteMiddleware[]): this {
    return this.route('get', path, operation, middleware);
  }

  post(path: string, operation: OperationSpec, ...middleware: RouteMiddleware[]): this {
    return this.route('post', path, operation, middleware);
  }

  put(path: string, operation: OperationSpec, ...middleware: RouteMiddleware[]): this {
    return this.route('put', path, operation, middleware);
  }

  patch(path: string, operation: OperationSpec, ...middleware: RouteMiddleware[]): this {
    return this.route('patch', path, operation, middleware);
  }

  delete(path: string, operation: OperationSpec, ...middleware: RouteMiddleware[]): this {
    return this.route('delete', path, operation, middleware);
  }

  private route(method: Method, path: string, operation: OperationSpec, middleware: RouteMiddleware[]): this {
    this.router[method](path, ...middleware);
    const layer = this.router.stack[this.router.stack.length - 1];
    const auth = operation.auth ?? this.defaults.auth;
    if (!auth) throw new Error(`${operation.operationId}: the operation must say who may call it (auth)`);
    const roles = operation.roles ?? this.defaults.roles;
    this.operations.push({
      ...operation,
      method,
      path: openApiPath(layer.path),
      tag: operation.tag ?? this.defaults.tag,
      auth,
      ...(roles ? { roles } : {}),
    });
    return this;
  }
}
