import fs from 'node:fs';
import { Client } from 'pg';
import { CpuSampler } from '../../bench/lib/cpu';
import { createTestDatabase, TestDatabase } from '../helpers/db';

const ticksOf = (pid: number): number => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);
};

/**
 * The bench's CPU accounting on a shared PostgreSQL server: the backends of the bench's
 * database are its PostgreSQL, those of other databases are other processes.
 */
describe('bench: CPU of PostgreSQL backends by database', () => {
  let db: TestDatabase;
  let client: Client;

  beforeAll(async () => {
    db = await createTestDatabase('benchcpu');
    client = new Client({ connectionString: db.url });
    await client.connect();
  });

  afterAll(async () => {
    await client.end();
    await db.drop();
  });

  it('counts a busy backend as PostgreSQL for its own database and as other for any other', async () => {
    const backend = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const before = ticksOf(backend);
    const started = Date.now();
    const mine = new CpuSampler(null, db.name);
    const theirs = new CpuSampler(null, `${db.name}_someone_else`);
    await client.query('SELECT count(*) FROM generate_series(1, 20000000)');
    const a = mine.stop()!;
    const b = theirs.stop()!;
    const seconds = (Date.now() - started) / 1000;
    const backendSeconds = (ticksOf(backend) - before) / 100;
    expect(backendSeconds).toBeGreaterThan(0.3);
    // The same /proc read twice a few microseconds apart: the backend's time, give or take a few ticks.
    expect((a.postgres - b.postgres) * seconds).toBeGreaterThan(backendSeconds * 0.8);
    expect((a.postgres - b.postgres) * seconds).toBeLessThan(backendSeconds * 1.2 + 0.05);
    expect((b.other - a.other) * seconds).toBeGreaterThan(backendSeconds * 0.5);
  });
});
