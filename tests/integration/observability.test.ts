import { createAdmin } from '../../src/commands/user/admin-bootstrap';
import { login, signUpVerified } from '../helpers/flows';
import { bearer, startStack, TestStack, TEST_PASSWORD } from '../helpers/stack';

describe('metrics and the queue dashboard', () => {
  let s: TestStack;
  beforeAll(async () => {
    s = await startStack('observe', { REQUIRE_EMAIL_VERIFICATION: 'false', METRICS_TOKEN: 'scrape-token-for-tests' });
    await createAdmin(s.system.services!.cmd, 'ops@example.com', TEST_PASSWORD);
  });
  afterAll(async () => {
    await s?.stop();
  });

  const raw = (path: string, headers: Record<string, string> = {}) => fetch(`${s.url}${path}`, { headers });

  it('serves Prometheus metrics: request durations by route, logins, appends, projection lag, queues', async () => {
    await signUpVerified(s, 'metrics@example.com');
    await s.request('POST', '/api/auth/login', { email: 'metrics@example.com', password: 'wrong password here' });
    await login(s, 'metrics@example.com');

    expect((await raw('/metrics')).status).toBe(401);
    const res = await raw('/metrics', bearer('scrape-token-for-tests'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/http_request_duration_seconds_count\{method="POST",route="\/api\/auth\/login",status="200"\} [1-9]/);
    expect(text).toMatch(/http_request_duration_seconds_count\{method="POST",route="\/api\/auth\/register",status="201"\} 1/);
    expect(text).toMatch(/auth_logins_total\{outcome="success"\} 1/);
    expect(text).toMatch(/auth_logins_total\{outcome="failure"\} 1/);
    expect(text).toMatch(/eventstore_appends_total\{category="user",result="ok"\} [1-9]/);
    expect(text).toMatch(/projection_lag_events\{projection="users"\} \d+/);
    expect(text).toMatch(/projection_lag_seconds\{projection="sessions"\} [\d.]+/);
    expect(text).toMatch(/queue_jobs\{queue="email",state="failed"\} 0/);
    // Route templates, never raw paths with ids in them.
    expect(text).not.toMatch(/route="\/api\/users\/[0-9a-f]{8}-/);
  });

  it('shows the BullMQ dashboard to admins only', async () => {
    expect((await raw('/admin/queues')).status).toBe(401);
    const viewer = await signUpVerified(s, 'nosy@example.com');
    expect((await raw('/admin/queues', bearer(viewer.accessToken))).status).toBe(403);

    const admin = await s.request('POST', '/api/auth/login', { email: 'ops@example.com', password: TEST_PASSWORD });
    const cookie = admin.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const page = await raw('/admin/queues', { cookie });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const api = await raw('/admin/queues/api/queues', { cookie });
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: { name: string }[] };
    expect(body.queues.map((q) => q.name).sort()).toEqual(['account', 'email', 'sessions']);
  });
});
