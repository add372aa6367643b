import { conformance } from '../helpers/openapi-conformance';

/** The checker itself: what it lets through and what it refuses (no server needed). */
const user = {
  id: '0b0c56a4-5b8e-4c52-9f0e-2f3f3c1f7a11',
  email: 'ada@example.com',
  username: null,
  name: 'Ada Lovelace',
  firstName: 'Ada',
  lastName: 'Lovelace',
  profile: null,
  role: 'viewer',
  emailVerified: true,
  pendingEmail: null,
  isDeleted: false,
  lastLoginAt: null,
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-01T00:00:00.000Z',
  createdBy: null,
  updatedBy: null,
};

const problem = (status: number, code: string) => ({
  type: `https://iam-es.dev/problems/${code.toLowerCase()}`,
  title: 'x',
  status,
  detail: 'x',
  code,
});

const check = (method: string, url: string, status: number, contentType: string | null, body: unknown, headers?: Record<string, string>) =>
  conformance().violations({ method, url, status, contentType, body, headers: headers ? new Headers(headers) : undefined });

describe('OpenAPI conformance check', () => {
  it('accepts a documented answer', () => {
    expect(check('GET', '/api/users/0b0c56a4-5b8e-4c52-9f0e-2f3f3c1f7a11', 200, 'application/json; charset=utf-8', user)).toEqual([]);
    expect(
      check('GET', '/api/users?limit=1', 200, 'application/json', { data: [user], meta: { page: 1, limit: 1, total: 1, totalPages: 1 } }),
    ).toEqual([]);
    expect(check('DELETE', '/api/content/x', 204, null, undefined)).toEqual([]);
    expect(check('HEAD', '/api/profile', 200, 'application/json', undefined)).toEqual([]);
    expect(check('GET', '/api/profile/', 401, 'application/problem+json', problem(401, 'UNAUTHENTICATED'))).toEqual([]);
  });

  it('refuses a field the document does not list, and a wrong type', () => {
    const v = check('GET', '/api/profile', 200, 'application/json', { ...user, passwordHash: 'x', emailVerified: 'yes' });
    expect(v.join('\n')).toMatch(/additional properties \(passwordHash\)/);
    expect(v.join('\n')).toMatch(/\/emailVerified: must be boolean/);
  });

  it('refuses an undocumented status and an undocumented content type', () => {
    expect(check('GET', '/health/live', 500, 'application/problem+json', problem(500, 'INTERNAL'))).toEqual([
      expect.stringMatching(/status 500 is not documented/),
    ]);
    expect(check('GET', '/api/profile', 200, 'text/html', '<html>')).toEqual([
      expect.stringMatching(/content type text\/html is not documented/),
    ]);
  });

  it('requires documented headers (Retry-After and the RateLimit fields on a 429 of a rate-limited route)', () => {
    const body = problem(429, 'RATE_LIMITED');
    const limits = { 'ratelimit-policy': '"login-ip";q=30;w=60', ratelimit: '"login-ip";r=0;t=3' };
    expect(check('POST', '/api/auth/login', 429, 'application/problem+json', body, limits)).toEqual(['the Retry-After header is missing']);
    expect(check('POST', '/api/auth/login', 429, 'application/problem+json', body, { 'retry-after': '3' })).toEqual([
      'the RateLimit-Policy header is missing',
      'the RateLimit header is missing',
    ]);
    expect(check('POST', '/api/auth/login', 429, 'application/problem+json', body, { 'retry-after': '3', ...limits })).toEqual([]);
    // A route under the account lockout only (no per-client limit) needs Retry-After alone.
    expect(check('PUT', '/api/profile/password', 429, 'application/problem+json', body, { 'retry-after': '3' })).toEqual([]);
  });

  it('wants a 404 problem for an unknown path and a 405 problem for a method a path does not take', () => {
    expect(check('GET', '/nope', 404, 'application/problem+json', problem(404, 'NOT_FOUND'))).toEqual([]);
    expect(check('GET', '/nope', 200, 'application/json', {})).toEqual([expect.stringMatching(/no documented path/)]);
    expect(check('GET', '/api/auth/login', 405, 'application/problem+json', problem(405, 'METHOD_NOT_ALLOWED'), { allow: 'POST' })).toEqual(
      [],
    );
    expect(check('GET', '/api/auth/login', 200, 'application/json', {})).toEqual([expect.stringMatching(/GET is not documented/)]);
    expect(check('GET', '/nope', 404, 'application/json', { message: 'x' })).toEqual([
      expect.stringMatching(/expected application\/problem\+json/),
    ]);
  });

  it('refuses a problem body that is not RFC 9457 as documented', () => {
    const v = check('GET', '/api/profile', 401, 'application/problem+json', { status: 401, message: 'no' });
    expect(v.length).toBeGreaterThan(1);
  });

  it('refuses a body where none is documented, and no body where one is', () => {
    expect(check('DELETE', '/api/content/x', 204, 'application/json', {})).toEqual([
      expect.stringMatching(/a body, where 204 documents none/),
    ]);
    expect(check('GET', '/api/profile', 200, 'application/json', undefined)).toEqual([expect.stringMatching(/no body/)]);
  });

  it('throws an Error listing the violations', () => {
    expect(() =>
      conformance().check({ method: 'GET', url: '/health/live', status: 200, contentType: 'application/json', body: { status: 'down' } }),
    ).toThrow(/OpenAPI conformance: GET \/health\/live answered 200[\s\S]*\/status: must be equal to constant/);
  });
});
