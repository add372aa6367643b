import { ApiRouter } from '../api-router';
import { metricsRouter } from '../observability';
import { openApiDocumentOf } from '../openapi/document';
import { OpenApiDocument } from '../openapi/types';
import { HttpServices } from '../types';
import { apiKeysRouter } from './api-keys';
import { auditRouter } from './audit';
import { authRouter } from './auth';
import { authzRouter } from './authz';
import { contentRouter } from './content';
import { docsRouter } from './docs';
import { healthRouter } from './health';
import { pagesRouter } from './pages';
import { permissionsRouter } from './permissions';
import { profileRouter } from './profile';
import { servicesRouter } from './services';
import { usersRouter } from './users';

/**
 * Every router of the API, mounted in this order. The docs router serves the document of all of
 * them, its own routes included, assembled from what they declared (once, when first asked).
 */
export function routers(svc: HttpServices): ApiRouter[] {
  let document: OpenApiDocument | undefined;
  const all: ApiRouter[] = [
    healthRouter(svc),
    metricsRouter(svc),
    docsRouter(svc, () => (document ??= documentOf(all))),
    pagesRouter(svc),
    authRouter(svc),
    profileRouter(svc),
    usersRouter(svc),
    contentRouter(svc),
    apiKeysRouter(svc),
    auditRouter(svc),
    servicesRouter(svc),
    permissionsRouter(svc),
    authzRouter(svc),
  ];
  return all;
}

const documentOf = (list: readonly ApiRouter[]): OpenApiDocument => openApiDocumentOf(list.flatMap((r) => r.operations));

/**
 * Stands in for the services when the routers are built only to read what they declare: a router
 * keeps its services for its requests and calls none while it is built, so every property of this
 * one is itself (and calling it, which no router does while being built, throws).
 */
const DECLARATIONS_ONLY = new Proxy({}, { get: (_target, _property, receiver: unknown) => receiver }) as HttpServices;

/** The OpenAPI document of the routers, without a running system (npm run collection, the tests): the one GET /openapi.json serves. */
export const buildOpenApiDocument = (): OpenApiDocument => documentOf(routers(DECLARATIONS_ONLY));
