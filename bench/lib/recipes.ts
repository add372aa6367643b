/**
 * The requests of a load, described as data: the orchestration sends a recipe to the load
 * process (functions do not cross a process boundary) and the load process builds the
 * requests from it, for autocannon or for the paced client. Recipes that hand out users or
 * names count what they built, so the next run continues after them.
 */
import type autocannon from 'autocannon';
import { loginEmail, PASSWORD } from './accounts';
import type { LoadOptions } from './load';
import type { PacedRequest } from './paced';

export type Recipe =
  /** GET with `Authorization: Bearer`: connection (or paced request) i uses tokens[i % n]; no tokens, no header. */
  | { kind: 'get'; path: string; tokens: string[] }
  /** POST /api/auth/login, each request the next seeded user from `first` on. */
  | { kind: 'login'; first: number; users: number }
  /** POST /api/auth/token: connection i owns session i and always presents its latest refresh token. */
  | { kind: 'refresh'; refreshTokens: string[] }
  /** POST /api/permissions as the admin, each a new name `bench<run>.p<n>:read` from `first` on. */
  | { kind: 'createPermission'; token: string; runId: string; first: number; serviceIds: string[] };

/** Recipes the paced client can send (one request per due time, no per-connection state). */
export type PacedRecipe = Extract<Recipe, { kind: 'get' | 'createPermission' }>;

/** What building the requests counted: users or names handed out, broken refresh chains. */
export interface RecipeStats {
  built: number;
  chainBreaks: number;
}

const json = { 'content-type': 'application/json' };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

const permissionBody = (r: Extract<Recipe, { kind: 'createPermission' }>, n: number): string =>
  JSON.stringify({ name: `bench${r.runId}.p${n}:read`, serviceIds: [r.serviceIds[n % r.serviceIds.length]] });

/** The recipe as autocannon requests (and the per-connection state some need). */
export function autocannonRequests(r: Recipe, stats: RecipeStats): Pick<LoadOptions, 'requests' | 'perConnection'> {
  switch (r.kind) {
    case 'get':
      return {
        requests: [{ method: 'GET', path: r.path }],
        perConnection: r.tokens.length
          ? (reqs, i) => {
              reqs[0].headers = bearer(r.tokens[i % r.tokens.length]);
            }
          : undefined,
      };
    case 'login':
      return {
        requests: [
          {
            method: 'POST',
            path: '/api/auth/login',
            headers: json,
            setupRequest: (req: autocannon.Request) => ({
              ...req,
              body: JSON.stringify({ email: loginEmail(r.first + stats.built++, r.users), password: PASSWORD }),
            }),
          },
        ],
      };
    case 'refresh':
      return {
        requests: [{ method: 'POST', path: '/api/auth/token', headers: json }],
        perConnection: (reqs, i) => {
          // The connection's own chain: each answer's refresh token is the next request's.
          let token = r.refreshTokens[i % r.refreshTokens.length];
          reqs[0].setupRequest = (req) => ({ ...req, body: JSON.stringify({ refreshToken: token }) });
          reqs[0].onResponse = (status, body) => {
            if (status === 200) token = (JSON.parse(body) as { refreshToken: string }).refreshToken;
            else stats.chainBreaks++;
          };
        },
      };
    case 'createPermission':
      return {
        requests: [
          {
            method: 'POST',
            path: '/api/permissions',
            headers: { ...json, ...bearer(r.token) },
            setupRequest: (req: autocannon.Request) => ({ ...req, body: permissionBody(r, r.first + stats.built++) }),
          },
        ],
      };
  }
}

/** The recipe as the paced client's request i. */
export function pacedRequests(r: PacedRecipe, stats: RecipeStats): (i: number) => PacedRequest {
  switch (r.kind) {
    case 'get':
      return (i) => ({ method: 'GET', path: r.path, headers: r.tokens.length ? bearer(r.tokens[i % r.tokens.length]) : {} });
    case 'createPermission':
      return () => ({
        method: 'POST',
        path: '/api/permissions',
        headers: { ...json, ...bearer(r.token) },
        body: permissionBody(r, r.first + stats.built++),
      });
  }
}
