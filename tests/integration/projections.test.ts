import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import pino from 'pino';
import { Knex } from 'knex';
import { PostgresEventStore } from '../../src/eventstore/postgres';
import { replayProjection } from '../../src/projections/replay';
import { Projector } from '../../src/projections/projector';
import { createKnex, PROJECTIONS } from '../../src/system';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { bearer, startStack, TestStack, TEST_PASSWORD } from '../helpers/stack';

const log = pino({ level: 'silent' });

const snapshot = async (knex: Knex) => ({
  users: await knex('users').orderBy('id'),
  userStats: await knex('users_stats').where('n', '>', 0).orderBy(['role', 'email_verified', 'is_deleted']),
  sessions: await knex('sessions').orderBy('id'),
  history: await knex('profile_history').orderBy(['event_id', 'seq']),
});

describe('replay', () => {
  let s: TestStack;
  beforeAll(async () => {
    s = await startStack('replay', { REQUIRE_EMAIL_VERIFICATION: 'false' });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('rebuilds identical rows after the read tables are dropped, while the API keeps answering', async () => {
    const tokens: string[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await s.request<Record<string, string>>('POST', '/api/auth/register', {
        email: `u${i}@example.com`,
        password: TEST_PASSWORD,
        firstName: `U${i}`,
      });
      expect(r.status).toBe(201);
      tokens.push(r.body.accessToken);
      await s.request('PATCH', '/api/profile', { lastName: `L${i}`, profile: { n: i } }, bearer(r.body.accessToken));
      await s.request('POST', '/api/auth/token', { refreshToken: r.body.refreshToken });
    }
    const before = await snapshot(s.system.knex);
    expect(before.users).toHaveLength(12);
    expect(before.history.length).toBeGreaterThanOrEqual(24);

    // Reads go on during the replay: every answer is a 200 with the right user.
    let reading = true;
    const reads: number[] = [];
    const reader = (async () => {
      while (reading) {
        const r = await s.request('GET', '/api/profile', undefined, bearer(tokens[0]));
        reads.push(r.status);
      }
    })();
    const deps = { knex: s.system.knex, store: s.system.store, connectionString: s.db.url, log };
    for (const p of PROJECTIONS) await replayProjection(deps, p);
    reading = false;
    await reader;
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((st) => st === 200)).toBe(true);
    expect(await snapshot(s.system.knex)).toEqual(before);

    // Dropped outright: a replay rebuilds the same rows from the log alone.
    await s.system.knex.raw('DROP TABLE users, users_stats, sessions, profile_history');
    for (const p of PROJECTIONS) await replayProjection(deps, p);
    expect(await snapshot(s.system.knex)).toEqual(before);
  });
});

describe('a projector killed mid-run', () => {
  let db: TestDatabase;
  let knex: Knex;
  let store: PostgresEventStore;
  beforeAll(async () => {
    db = await createTestDatabase('killed');
    knex = createKnex(db.url);
    store = PostgresEventStore.fromConfig({ connectionString: db.url });
    await store.migrate();
  });
  afterAll(async () => {
    await store?.close();
    await knex?.destroy();
    await db?.drop();
  });

  it('resumes from its checkpoint with nothing missed and nothing applied twice', async () => {
    const USERS = 300;
    const REFRESHES = 6;
    const expected = new Map<string, { firstName: string; refreshes: number }>();
    for (let i = 0; i < USERS; i++) {
      const userId = randomUUID();
      const sessionId = randomUUID();
      const at = new Date().toISOString();
      await store.append(
        `user-${userId}`,
        [
          {
            type: 'UserRegistered',
            data: {
              userId,
              email: `k${i}@example.com`,
              username: null,
              firstName: 'first',
              lastName: null,
              name: null,
              profile: null,
              role: 'viewer',
              passwordHash: 'x',
              emailVerified: true,
              registeredAt: at,
            },
          },
          { type: 'ProfileUpdated', data: { changes: [{ field: 'firstName', oldValue: 'first', newValue: `final-${i}` }] } },
        ],
        'no_stream',
      );
      await store.append(
        `session-${sessionId}`,
        [
          {
            type: 'SessionStarted',
            data: {
              sessionId,
              userId,
              deviceId: 'd',
              refreshTokenHash: 'h0',
              ip: null,
              userAgent: null,
              startedAt: at,
              absoluteExpiresAt: '2999-01-01T00:00:00.000Z',
            },
          },
          ...Array.from({ length: REFRESHES }, (_, k) => ({
            type: 'SessionRefreshed',
            data: { previousTokenHash: `h${k}`, refreshTokenHash: `h${k + 1}`, at },
          })),
        ],
        'no_stream',
      );
      expected.set(userId, { firstName: `final-${i}`, refreshes: REFRESHES });
    }
    const totalEvents = USERS * (2 + 1 + REFRESHES);

    // A real projector process, small batches, killed with SIGKILL once it is part-way through.
    const root = path.resolve(__dirname, '../..');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/main.ts'), 'projector'], {
      cwd: root,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        DATABASE_URL: db.url,
        PROJECTION_BATCH_SIZE: '20',
        LOG_LEVEL: 'silent',
        DATA_DIR: path.join(root, '.data'),
      },
      stdio: 'ignore',
    });
    const deadline = Date.now() + 60000;
    let progressed = 0;
    while (Date.now() < deadline) {
      const row = await knex('projection_checkpoints')
        .where({ name: 'sessions' })
        .first()
        .catch(() => undefined);
      progressed = row ? Number((await knex('sessions').count({ n: '*' }))[0].n) : 0;
      if (progressed > 20) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const sessionsAtKill = Number((await knex('sessions').count({ n: '*' }))[0].n);
    expect(sessionsAtKill).toBeGreaterThan(0);
    expect(sessionsAtKill).toBeLessThan(USERS);

    const projector = new Projector({ knex, store, connectionString: db.url, log, batchSize: 50 }, PROJECTIONS, []);
    await projector.prepare();
    projector.start();
    const head = await store.headPosition();
    const until = Date.now() + 60000;
    while (Date.now() < until) {
      const rows = await knex('projection_checkpoints').whereIn(
        'name',
        PROJECTIONS.map((p) => p.name),
      );
      if (
        rows.length === PROJECTIONS.length &&
        rows.every((r) => r.commit_pos !== null && BigInt(r.commit_pos) === head!.commit && BigInt(r.prepare_pos) === head!.prepare)
      )
        break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await projector.stop();

    const users = await knex('users').select('id', 'first_name');
    expect(users).toHaveLength(USERS);
    for (const u of users) expect(u.first_name).toBe(expected.get(u.id)!.firstName);
    const sessions = await knex('sessions').select('user_id', 'refresh_count');
    expect(sessions).toHaveLength(USERS);
    // refresh_count is incremented per event: a batch applied twice would show here.
    for (const x of sessions) expect(x.refresh_count).toBe(REFRESHES);
    expect(Number((await knex('profile_history').count({ n: '*' }))[0].n)).toBe(USERS * 2);
    expect(totalEvents).toBe(Number((await knex('es_events').count({ n: '*' }))[0].n));
  });
});
