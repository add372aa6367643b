import { randomUUID } from 'node:crypto';
import { Knex } from 'knex';
import { RecordedEvent } from '../../src/eventstore/types';
import { permissionsProjection } from '../../src/projections/permissions';
import { Projection } from '../../src/projections/projection';
import { sessionsProjection } from '../../src/projections/sessions';
import { createKnex } from '../../src/system';
import { createTestDatabase, TestDatabase } from '../helpers/db';

/**
 * Projections that fold a batch into a few statements must leave exactly the rows that
 * applying its events one by one leaves, however the log is cut into batches (live batches are
 * small and uneven, a replay's are 5,000 events).
 */
describe('batched projections leave the rows that event-by-event application leaves', () => {
  let db: TestDatabase;
  let knex: Knex;

  beforeAll(async () => {
    db = await createTestDatabase('batches');
    knex = createKnex(db.url, 4);
  });

  afterAll(async () => {
    await knex?.destroy();
    await db?.drop();
  });

  let seq = 0;
  const T0 = Date.parse('2031-05-01T10:00:00.000Z');
  const event = (streamId: string, type: string, data: object, actorId: string | null = null): RecordedEvent => {
    seq++;
    return {
      id: randomUUID(),
      type,
      streamId,
      revision: 0n,
      position: { commit: BigInt(seq), prepare: BigInt(seq) },
      data: data as RecordedEvent['data'],
      metadata: { actorId },
      createdAt: new Date(T0 + seq * 1000),
    };
  };

  /** Every row of the projection's tables in a schema, in a stable order. */
  const rowsOf = async (schema: string, p: Projection): Promise<Record<string, unknown[]>> => {
    const out: Record<string, unknown[]> = {};
    for (const t of p.tables) {
      const { rows } = await knex.raw(`SELECT * FROM ${schema}.${t}`);
      out[t] = rows.map((r: Record<string, unknown>) => JSON.stringify(r)).sort();
    }
    return out;
  };

  /** Applies the events into a fresh schema: one by one, or cut into batches of `size`. */
  const project = async (p: Projection, events: RecordedEvent[], size: number | 'one-by-one'): Promise<Record<string, unknown[]>> => {
    const schema = `s_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    await knex.raw(`CREATE SCHEMA ${schema}`);
    await knex.transaction(async (trx) => {
      await trx.raw(`SET LOCAL search_path TO ${schema}, public`);
      await p.setup(trx);
    });
    const handled = events.filter((e) => p.handles.some((t) => t === e.type));
    const cuts = size === 'one-by-one' ? handled.map((e) => [e]) : Array.from({ length: Math.ceil(handled.length / size) }, (_, i) => handled.slice(i * size, (i + 1) * size));
    for (const batch of cuts) {
      await knex.transaction(async (trx) => {
        await trx.raw(`SET LOCAL search_path TO ${schema}, public`);
        if (size === 'one-by-one') await p.apply(batch[0], trx);
        else await p.applyBatch(batch, trx);
      });
    }
    return rowsOf(schema, p);
  };

  const expectSameRows = async (p: Projection, events: RecordedEvent[]): Promise<void> => {
    const oneByOne = await project(p, events, 'one-by-one');
    expect(Object.values(oneByOne).some((rows) => rows.length > 0)).toBe(true);
    for (const size of [1, 2, 3, 7, events.length]) expect(await project(p, events, size)).toEqual(oneByOne);
  };

  it('sessions: sign-ins, refreshes of several sessions interleaved, revocations, and ends from the user stream', async () => {
    const user = randomUUID();
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const started = (id: string, device: string) =>
      event(`session-${id}`, 'SessionStarted', {
        sessionId: id,
        userId: user,
        deviceId: device,
        refreshTokenHash: 'h',
        ip: '203.0.113.9',
        userAgent: 'jest',
        startedAt: new Date(T0 + seq * 1000).toISOString(),
        absoluteExpiresAt: new Date(T0 + 86_400_000).toISOString(),
      });
    const refreshed = (id: string) => event(`session-${id}`, 'SessionRefreshed', { previousTokenHash: 'x', refreshTokenHash: 'y', at: new Date(T0 + seq * 1000).toISOString() });
    const events = [
      started(a, 'laptop'),
      started(b, 'phone'),
      refreshed(a),
      refreshed(b),
      refreshed(a),
      refreshed(a),
      started(c, 'tablet'),
      refreshed(c),
      event(`session-${b}`, 'SessionRevoked', { reason: 'logout', at: new Date(T0 + 50_000).toISOString() }),
      refreshed(a),
      event(`user-${user}`, 'SessionEnded', { sessionId: c, reason: 'revoked' }),
      refreshed(c),
      refreshed(a),
      refreshed(a),
    ];
    await expectSameRows(sessionsProjection, events);
  });

  it('permissions: new permissions with their services, and grant sets that add, drop and bring back permissions', async () => {
    const admin = randomUUID();
    const [s1, s2] = [randomUUID(), randomUUID()];
    const [p1, p2, p3] = [randomUUID(), randomUUID(), randomUUID()];
    const [u1, u2] = [randomUUID(), randomUUID()];
    const created = (id: string, name: string, serviceIds: string[]) => event(`permission-${id}`, 'PermissionCreated', { permissionId: id, name, serviceIds }, admin);
    const grants = (userId: string, permissionIds: string[]) => event(`userGrants-${userId}`, 'UserPermissionsSet', { permissionIds }, admin);
    const events = [
      created(p1, 'read:reports', [s1]),
      created(p2, 'write:reports', [s1, s2]),
      grants(u1, [p1]),
      created(p3, 'admin:reports', []),
      grants(u1, [p1, p2]),
      grants(u2, [p2, p3]),
      grants(u1, [p2]),
      grants(u1, [p1, p2]),
      grants(u2, []),
      grants(u2, [p3]),
      event(`permission-${p3}`, 'PermissionUpdated', { name: 'admin:all', previousName: 'admin:reports', serviceIds: [s2] }, admin),
      grants(u1, [p1, p2, p3]),
    ];
    await expectSameRows(permissionsProjection, events);
  });
});
