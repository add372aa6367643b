import pino from 'pino';
import { Knex } from 'knex';
import { PostgresEventStore } from '../../src/eventstore/postgres';
import { comparePositions, Position, RecordedEvent } from '../../src/eventstore/types';
import { ensureCheckpointTable, positionColumns } from '../../src/projections/checkpoints';
import { GroupOptions, GroupRunner, RunnerTarget } from '../../src/projections/group';
import { AdvisoryLocks } from '../../src/projections/locks';
import { createKnex } from '../../src/system';
import { createTestDatabase, TestDatabase } from '../helpers/db';

const log = pino({ level: 'silent' });

/** Retries assertions about asynchronous background work until they hold, or fails with the last error. */
async function eventually(check: () => Promise<void>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** A target that records what it applied in its own table, in the batch's transaction. */
function recorder(name: string, handles: string[], failWhile?: () => boolean): RunnerTarget {
  return {
    name,
    handles: new Set(handles),
    async applyBatch(events: RecordedEvent[], trx: Knex.Transaction) {
      for (const e of events) {
        await trx('applied').insert({ target: name, event_id: e.id });
        if (failWhile?.()) throw new Error(`${name} is broken`);
      }
    },
  };
}

const appliedBy = async (knex: Knex, target: string): Promise<string[]> =>
  (await knex('applied').where({ target }).orderBy('seq')).map((r: { event_id: string }) => r.event_id);

describe('projection group (one log read and one transaction per batch for all projections)', () => {
  let db: TestDatabase;
  let knex: Knex;
  let store: PostgresEventStore;
  const groups: GroupRunner[] = [];
  const lockSets: AdvisoryLocks[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('group');
    knex = createKnex(db.url, 6);
    store = PostgresEventStore.fromConfig({ connectionString: db.url, max: 4 });
    await store.migrate();
    await ensureCheckpointTable(knex);
    await knex.raw('CREATE TABLE applied (seq bigserial PRIMARY KEY, target text NOT NULL, event_id uuid NOT NULL)');
  });

  afterEach(async () => {
    for (const g of groups.splice(0)) await g.stop();
    for (const l of lockSets.splice(0)) await l.close();
    await knex('applied').delete();
    await knex('projection_checkpoints').delete();
  });

  afterAll(async () => {
    await store?.close();
    await knex?.destroy();
    await db?.drop();
  });

  const group = (
    targets: RunnerTarget[],
    batchSize = 7,
    hooks: Partial<Pick<GroupOptions, 'onCommitted' | 'onCheckpoint'>> = {},
  ): GroupRunner => {
    const locks = new AdvisoryLocks(db.url);
    lockSets.push(locks);
    const g = new GroupRunner(
      targets.map((target) => ({ target })),
      { knex, store, locks, log, name: 'test', batchSize, idlePollMs: 20, lockRetryMs: 100, ...hooks },
    );
    groups.push(g);
    return g;
  };

  // Every test has the log to itself: its event types carry the test's own tag.
  let tag = '';
  beforeEach(() => {
    tag = `T${crypto.randomUUID().slice(0, 8)}`;
  });
  const t = (type: string): string => `${tag}${type}`;

  /** An event's position, once readers can see it: after every older transaction of the cluster ended (the store's xmin rule). */
  const readableAt = async (id: string): Promise<Position> => {
    let at: Position | undefined;
    await eventually(async () => {
      at = (await store.readAll(null, 100_000)).find((e) => e.id === id)?.position;
      expect(at).toBeDefined();
    });
    return at!;
  };

  const appendMany = async (stream: string, types: string[]): Promise<string[]> => {
    const ids: string[] = [];
    for (const type of types.map(t)) {
      const id = crypto.randomUUID();
      ids.push(id);
      await store.append(stream, [{ id, type, data: {} }], 'any');
    }
    return ids;
  };

  it('gives each projection exactly the events it handles, in log order, and moves every checkpoint to the head', async () => {
    const types = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? 'A' : i % 3 === 1 ? 'B' : 'C'));
    const ids = await appendMany(`s-${crypto.randomUUID()}`, types);
    const g = group([recorder('pa', ['A'].map(t)), recorder('pab', ['A', 'B'].map(t)), recorder('pnone', ['Z'].map(t))]);
    g.start();
    const head = await readableAt(ids[ids.length - 1]);
    await eventually(async () => {
      const rows = await knex('projection_checkpoints').whereIn('name', ['pa', 'pab', 'pnone']);
      expect(rows).toHaveLength(3);
      for (const r of rows) expect([BigInt(r.commit_pos), BigInt(r.prepare_pos)]).toEqual([head!.commit, head!.prepare]);
    });
    expect(await appliedBy(knex, 'pa')).toEqual(ids.filter((_, i) => types[i] === 'A'));
    expect(await appliedBy(knex, 'pab')).toEqual(ids.filter((_, i) => types[i] !== 'C'));
    expect(await appliedBy(knex, 'pnone')).toEqual([]);
  });

  it('a projection whose apply fails sits out; the others keep up, and it catches up once mended, nothing applied twice', async () => {
    let broken = true;
    const first = await appendMany(`s-${crypto.randomUUID()}`, ['A', 'A', 'A']);
    const g = group([recorder('healthy', ['A'].map(t)), recorder('flaky', ['A'].map(t), () => broken)]);
    g.start();
    await eventually(async () => expect(await appliedBy(knex, 'healthy')).toEqual(first));
    const more = await appendMany(`s-${crypto.randomUUID()}`, ['A', 'A']);
    await eventually(async () => expect(await appliedBy(knex, 'healthy')).toEqual([...first, ...more]));
    // Every failed attempt rolled back with its batch.
    expect(await appliedBy(knex, 'flaky')).toEqual([]);
    broken = false;
    await eventually(async () => expect(await appliedBy(knex, 'flaky')).toEqual([...first, ...more]), 45_000);
    expect(await appliedBy(knex, 'healthy')).toEqual([...first, ...more]);
  });

  it('applies nothing past a checkpoint someone else moved (a replay swapped its tables in): the batch rolls back and it carries on from the new checkpoint', async () => {
    let broken = false;
    const stream = `s-${crypto.randomUUID()}`;
    const first = await appendMany(stream, ['A', 'A']);
    const g = group([recorder('guarded', ['A'].map(t), () => broken)]);
    g.start();
    await eventually(async () => expect(await appliedBy(knex, 'guarded')).toEqual(first));
    // Hold it out of batches, append more, and move its row past them as a replay's swap would.
    broken = true;
    const skipped = await appendMany(stream, ['A', 'A', 'A']);
    const movedTo = await readableAt(skipped[2]);
    await eventually(async () => expect(g.status[0].active).toBe(true));
    await knex('projection_checkpoints').where({ name: 'guarded' }).update(positionColumns(movedTo));
    broken = false;
    const later = await appendMany(stream, ['A']);
    await eventually(async () => expect(await appliedBy(knex, 'guarded')).toEqual([...first, ...later]), 45_000);
  });

  it('an append hidden by an older open transaction is applied once that transaction ends (its commit sends no wake-up)', async () => {
    const g = group([recorder('patient', ['A'].map(t))]);
    g.start();
    const before = await appendMany(`s-${crypto.randomUUID()}`, ['A']);
    await eventually(async () => expect(await appliedBy(knex, 'patient')).toEqual(before));
    // An older transaction with a transaction id, still open when the append commits.
    const blocker = await knex.transaction();
    await blocker.raw('CREATE TEMP TABLE hold (x int) ON COMMIT DROP');
    await blocker.raw('INSERT INTO hold VALUES (1)');
    const hidden = await appendMany(`s-${crypto.randomUUID()}`, ['A']);
    await new Promise((r) => setTimeout(r, 300));
    expect(await appliedBy(knex, 'patient')).toEqual(before);
    await blocker.commit();
    await eventually(async () => expect(await appliedBy(knex, 'patient')).toEqual([...before, ...hidden]), 5_000);
  });

  it('runs a projection in one process only: a second group stays idle until the first stops, then carries on from its checkpoint', async () => {
    const ids = await appendMany(
      `s-${crypto.randomUUID()}`,
      Array.from({ length: 10 }, () => 'A'),
    );
    const one = group([recorder('solo', ['A'].map(t))]);
    const two = group([recorder('solo', ['A'].map(t))]);
    one.start();
    two.start();
    await eventually(async () => expect(await appliedBy(knex, 'solo')).toEqual(ids));
    expect(one.status[0].active !== two.status[0].active).toBe(true);
    const holder = one.status[0].active ? one : two;
    await holder.stop();
    groups.splice(groups.indexOf(holder), 1);
    const later = await appendMany(`s-${crypto.randomUUID()}`, ['A', 'A', 'A']);
    await eventually(async () => expect(await appliedBy(knex, 'solo')).toEqual([...ids, ...later]), 20_000);
  });

  it('members at different checkpoints share a batch: each gets only the events past its own', async () => {
    const ids = await appendMany(
      `s-${crypto.randomUUID()}`,
      Array.from({ length: 12 }, () => 'A'),
    );
    const g1 = group([recorder('old', ['A'].map(t))]);
    g1.start();
    await eventually(async () => expect(await appliedBy(knex, 'old')).toEqual(ids));
    await g1.stop();
    groups.splice(groups.indexOf(g1), 1);
    // Put "old" back to its 6th event, as if it had stopped there; "new" starts from nothing.
    const mine = (await store.readAll(null, 100_000)).filter((e) => ids.includes(e.id));
    await knex('projection_checkpoints').where({ name: 'old' }).update(positionColumns(mine[5].position));
    const g2 = group([recorder('old', ['A'].map(t)), recorder('new', ['A'].map(t))], 5);
    g2.start();
    await eventually(async () => expect(await appliedBy(knex, 'new')).toEqual(ids));
    await eventually(async () => expect(await appliedBy(knex, 'old')).toEqual([...ids, ...ids.slice(6)]));
  });

  it('tells the process what each projection applied after the commit and before reporting the checkpoint (caches evict before a waiting request resumes)', async () => {
    const seen: { what: string; at?: Position }[] = [];
    const ids = await appendMany(`s-${crypto.randomUUID()}`, ['A', 'B', 'A']);
    const lastA = await readableAt(ids[2]);
    const g = group([recorder('hooked', ['A'].map(t)), recorder('quiet', ['Z'].map(t))], 10_000, {
      onCommitted: (name, events) => seen.push({ what: `committed ${name} ${events.filter((e) => ids.includes(e.id)).length}` }),
      onCheckpoint: (name, at) => seen.push({ what: `checkpoint ${name}`, at }),
    });
    g.start();
    await eventually(async () => expect(seen.some((x) => x.what === 'committed hooked 2')).toBe(true));
    await eventually(async () => expect(seen.some((x) => x.what === 'checkpoint quiet' && comparePositions(x.at!, lastA) >= 0)).toBe(true));
    const committed = seen.findIndex((x) => x.what === 'committed hooked 2');
    const reported = seen.findIndex((x) => x.what === 'checkpoint hooked' && comparePositions(x.at!, lastA) >= 0);
    expect(reported).toBeGreaterThan(committed);
    // Nothing applied, nothing to tell; its checkpoint still moves.
    expect(seen.some((x) => x.what.startsWith('committed quiet'))).toBe(false);
  });
});
