import { ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { eventually } from '../helpers/eventually';
import { Client } from 'pg';
import { startStack, TEST_PASSWORD, TestStack } from '../helpers/stack';

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });

const startRedis = (port: number): ChildProcess =>
  spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });

describe('health', () => {
  let redis: ChildProcess;
  let port: number;
  let s: TestStack;
  beforeAll(async () => {
    // A Redis of this test's own, so stopping it harms no other test file.
    port = await freePort();
    redis = startRedis(port);
    await eventually(
      () =>
        new Promise<boolean>((resolve) => {
          const c = net.connect(port, '127.0.0.1', () => {
            c.end();
            resolve(true);
          });
          c.on('error', () => resolve(false));
        }),
      10000,
      'redis-server',
    );
    s = await startStack('health', { REDIS_URL: `redis://127.0.0.1:${port}` });
  });
  afterAll(async () => {
    await s?.stop().catch(() => undefined);
    if (redis.exitCode === null) redis.kill('SIGKILL');
  });

  it('is live, and ready when PostgreSQL, Redis, the event store and the projections are', async () => {
    expect((await s.request('GET', '/health/live')).status).toBe(200);
    const ready = await s.request<{ status: string; checks: { name: string; ok: boolean }[] }>('GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.checks.map((c) => [c.name, c.ok])).toEqual([
      ['postgres', true],
      ['redis', true],
      ['eventstore', true],
      ['projections', true],
    ]);
  });

  it('survives PostgreSQL ending every connection (a server restart): ready again, and commands and reads work', async () => {
    // Idle pooled connections included: the event store's pool must not take the process down.
    await s.request('GET', '/health/ready');
    const admin = new Client({ connectionString: s.db.url });
    await admin.connect();
    try {
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
    } finally {
      await admin.end();
    }
    await eventually(async () => (await s.request('GET', '/health/ready')).status === 200, 15000, 'readiness after the connections ended');
    const email = `after-restart-${Date.now()}@example.com`;
    const registered = await s.request('POST', '/api/auth/register', { email, password: TEST_PASSWORD, name: 'After Restart' });
    expect(registered.status).toBe(201);
  });

  it('reports 503 naming Redis when Redis stops', async () => {
    redis.kill('SIGTERM');
    await new Promise((r) => redis.once('exit', r));
    const r = await s.request<{ status: string; checks: { name: string; ok: boolean; detail?: string }[] }>('GET', '/health/ready');
    expect(r.status).toBe(503);
    expect(r.body.status).toBe('unavailable');
    expect(r.body.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['redis']);
    expect((await s.request('GET', '/health/live')).status).toBe(200);
  });

  it('is ready again once Redis is back', async () => {
    redis = startRedis(port);
    await eventually(async () => (await s.request('GET', '/health/ready')).status === 200, 15000, 'readiness to recover');
  });
});
