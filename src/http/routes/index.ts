import Router from '@koa/router';
import { AppState, HttpServices } from '../types';
import { apiKeysRouter } from './api-keys';
import { auditRouter } from './audit';
import { authRouter } from './auth';
import { authzRouter } from './authz';
import { contentRouter } from './content';
import { docsRouter } from './docs';
import { healthRouter } from './health';
import { metricsRouter } from '../observability';
import { pagesRouter } from './pages';
import { permissionsRouter } from './permissions';
import { profileRouter } from './profile';
import { servicesRouter } from './services';
import { usersRouter } from './users';

/** Every router of the API, mounted in this order. */
export const routers = (svc: HttpServices): Router<AppState>[] => [healthRouter(svc),
  metricsRouter(svc), docsRouter(svc), pagesRouter(svc), authRouter(svc), profileRouter(svc), usersRouter(svc), contentRouter(svc), apiKeysRouter(svc), auditRouter(svc), servicesRouter(svc), permissionsRouter(svc), authzRouter(svc)];
