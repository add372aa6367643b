import Router from '@koa/router';
import { AppState, HttpServices } from '../types';
import { authRouter } from './auth';
import { healthRouter } from './health';
import { pagesRouter } from './pages';
import { profileRouter } from './profile';
import { usersRouter } from './users';

/** Every router of the API, mounted in this order. */
export const routers = (svc: HttpServices): Router<AppState>[] => [healthRouter(svc), pagesRouter(svc), authRouter(svc), profileRouter(svc), usersRouter(svc)];
