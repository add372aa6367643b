import type autocannon from 'autocannon';
import { HELD_USERS } from '../../bench/lib/accounts';
import { autocannonRequests, pacedRequests, RecipeStats } from '../../bench/lib/recipes';

type Req = autocannon.Request;
/** The recipes give functions (autocannon also takes file paths there). */
type Setup = (req: Req, context: object) => Req;
type OnResponse = (status: number, body: string, context: object, headers: object) => void;
const stats = (): RecipeStats => ({ built: 0, chainBreaks: 0 });
/** What autocannon sends next on a connection: the request its setupRequest builds. */
const next = (r: Req): Req => (r.setupRequest ? (r.setupRequest as Setup)(r, {}) : r);
const answer = (r: Req, status: number, b: string) => (r.onResponse as OnResponse)(status, b, {}, {});
const body = (r: Req) => JSON.parse(String(next(r).body)) as Record<string, unknown>;
/** A connection's own copy of the requests, after the recipe's per-connection setup. */
const connection = (built: ReturnType<typeof autocannonRequests>, index: number): Req[] => {
  const own = built.requests.map((r) => ({ ...r }));
  built.perConnection?.(own, index);
  return own;
};

describe('bench request recipes', () => {
  it('logs in a different seeded user on every request, never one whose session a scenario holds', () => {
    const s = stats();
    const [req] = autocannonRequests({ kind: 'login', first: 0, users: 3000 }, s).requests;
    const emails = Array.from({ length: 4000 }, () => body(req).email as string);
    const numbers = emails.map((e) => Number(/^user(\d+)@/.exec(e)![1]));
    expect(new Set(emails.slice(0, 2000)).size).toBe(2000);
    expect(Math.min(...numbers)).toBe(HELD_USERS);
    expect(Math.max(...numbers)).toBe(2999);
    expect(s.built).toBe(4000);
  });

  it('continues a later run after the users an earlier one signed in', () => {
    const [req] = autocannonRequests({ kind: 'login', first: 7, users: 3000 }, stats()).requests;
    expect(body(req).email).toBe(`user${HELD_USERS + 7}@bench.example.com`);
  });

  it('chains each refresh connection on its own session, counting refusals', () => {
    const s = stats();
    const built = autocannonRequests({ kind: 'refresh', refreshTokens: ['a0', 'b0'] }, s);
    const [c0] = connection(built, 0);
    const [c1] = connection(built, 1);
    expect(body(c0).refreshToken).toBe('a0');
    expect(body(c1).refreshToken).toBe('b0');
    answer(c0, 200, JSON.stringify({ refreshToken: 'a1' }));
    expect(body(c0).refreshToken).toBe('a1');
    expect(body(c1).refreshToken).toBe('b0');
    answer(c1, 401, '{"code":"REFRESH_TOKEN_REUSED"}');
    expect(s.chainBreaks).toBe(1);
    expect(body(c1).refreshToken).toBe('b0');
  });

  it('creates permissions with names no earlier request used', () => {
    const s = stats();
    const recipe = { kind: 'createPermission' as const, token: 't', runId: 'r1', first: 10, serviceIds: ['s1', 's2'] };
    const [req] = autocannonRequests(recipe, s).requests;
    expect(req.headers).toMatchObject({ authorization: 'Bearer t' });
    expect([body(req), body(req)]).toEqual([
      { name: 'benchr1.p10:read', serviceIds: ['s1'] },
      { name: 'benchr1.p11:read', serviceIds: ['s2'] },
    ]);
    expect(s.built).toBe(2);
    // The next run (a new load process) starts after the names the last one built.
    const later = stats();
    const paced = pacedRequests({ ...recipe, first: 10 + s.built }, later);
    expect(JSON.parse(paced(0).body!)).toEqual({ name: 'benchr1.p12:read', serviceIds: ['s1'] });
    expect(later.built).toBe(1);
  });

  it('spreads the tokens of a GET over the connections, and sends none when given none', () => {
    const built = autocannonRequests({ kind: 'get', path: '/api/auth/me', tokens: ['x', 'y'] }, stats());
    expect([0, 1, 2].map((i) => connection(built, i)[0].headers)).toEqual([
      { authorization: 'Bearer x' },
      { authorization: 'Bearer y' },
      { authorization: 'Bearer x' },
    ]);
    const paced = pacedRequests({ kind: 'get', path: '/api/profile', tokens: ['x', 'y'] }, stats());
    expect([paced(0).headers, paced(1).headers]).toEqual([{ authorization: 'Bearer x' }, { authorization: 'Bearer y' }]);
    const bare = autocannonRequests({ kind: 'get', path: '/', tokens: [] }, stats());
    expect(bare.perConnection).toBeUndefined();
    expect(pacedRequests({ kind: 'get', path: '/', tokens: [] }, stats())(0).headers).toEqual({});
  });
});
