import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Knex } from 'knex';
import { PostgresEventStore } from '../../src/eventstore/postgres';
import { createKnex } from '../../src/system';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { eventually } from '../helpers/eventually';

const root = path.resolve(__dirname, '../..');

const startProjector = (url: string, prefix: string): ChildProcess =>
  spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/main.ts'), 'projector'], {
    cwd: root,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      DATABASE_URL: url,
      REDIS_PREFIX: prefix,
      LOG_LEVEL: 'silent',
      PROJECTION_BATCH_SIZE: '50',
      DATA_DIR: path.join(root, '.data'),
    },
    stdio: 'ignore',
  });

describe('projector failover', () => {
  let db: TestDatabase;
  let knex: Knex;
  let store: PostgresEventStore;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    db = await createTestDatabase('failover');
    knex = createKnex(db.url);
    store = PostgresEventStore.fromConfig({ connectionString: db.url });
    await store.migrate();
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await store?.close();
    await knex?.destroy();
    await db?.drop();
  });

  /** A session with `refreshes` SessionRefreshed events: refresh_count shows any double apply. */
  const appendSessions = async (n: number, refreshes: number) => {
    for (let i = 0; i < n; i++) {
      const id = randomUUID();
      const at = new Date().toISOString();
      await store.append(
        `session-${id}`,
        [
          {
            type: 'SessionStarted',
            data: {
              sessionId: id,
              userId: randomUUID(),
              deviceId: 'd',
              refreshTokenHash: 'h0',
              ip: null,
              userAgent: null,
              startedAt: at,
              absoluteExpiresAt: '2999-01-01T00:00:00.000Z',
            },
          },
          ...Array.from({ length: refreshes }, (_, k) => ({
            type: 'SessionRefreshed',
            data: { previousTokenHash: `h${k}`, refreshTokenHash: `h${k + 1}`, at },
          })),
        ],
        'no_stream',
      );
    }
  };

  /** The pid of the process whose connection holds the advisory lock of the sessions projection. */
  const activePid = async (): Promise<number | undefined> => {
    const r = await knex.raw(
      `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND l.objid = (hashtext('projection:sessions')::bigint & 4294967295)::oid`,
    );
    const name: string | undefined = r.rows[0]?.application_name;
    return name ? Number(name.split(':')[1]) : undefined;
  };

  it('a standby takes over within seconds when the active projector is killed, with no row missed or doubled', async () => {
    await appendSessions(50, 3);
    const prefix = `t_failover_${randomUUID().slice(0, 8)}`;
    children.push(startProjector(db.url, prefix), startProjector(db.url, prefix));
    const first = await eventually(activePid, 30000, 'an active projector');
    expect(children.map((c) => c.pid)).toContain(first);
    await eventually(async () => Number((await knex('sessions').count({ n: '*' }))[0].n) === 50, 30000, 'the first 50 sessions');

    const active = children.find((c) => c.pid === first)!;
    active.kill('SIGKILL');
    await new Promise((r) => active.once('exit', r));
    const killedAt = Date.now();
    await appendSessions(50, 3);

    const second = await eventually(
      async () => {
        const pid = await activePid();
        return pid !== undefined && pid !== first ? pid : undefined;
      },
      15000,
      'the standby to take the lock',
    );
    expect(second).not.toBe(first);
    await eventually(async () => Number((await knex('sessions').count({ n: '*' }))[0].n) === 100, 15000, 'all 100 sessions');
    expect(Date.now() - killedAt).toBeLessThan(10000);
    const counts = await knex('sessions').select('refresh_count');
    expect(counts.every((c) => c.refresh_count === 3)).toBe(true);
  });
});
