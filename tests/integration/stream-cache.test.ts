import { randomUUID } from 'node:crypto';
import { handle, load, loadBoth } from '../../src/commands/handle';
import { sessionDecider, SessionCommand } from '../../src/commands/session/decider';
import { DomainError } from '../../src/errors';
import { sessionStream } from '../../src/events/session';
import { SessionId, UserId } from '../../src/events/user';
import { PostgresEventStore } from '../../src/eventstore/postgres';
import { EventStore } from '../../src/eventstore/types';
import { createTestDatabase, TestDatabase } from '../helpers/db';

/**
 * Commands remember the streams they loaded or wrote (per process and store) and read only
 * the events after what they remember. Two stores on one database stand for two API processes.
 */
describe('streams remembered between commands', () => {
  let db: TestDatabase;
  let one: PostgresEventStore;
  let two: PostgresEventStore;
  const stores: PostgresEventStore[] = [];

  const newStore = (): PostgresEventStore => {
    const s = PostgresEventStore.fromConfig({ connectionString: db.url, max: 2 });
    stores.push(s);
    return s;
  };

  beforeAll(async () => {
    db = await createTestDatabase('streamcache');
    one = newStore();
    await one.migrate();
    two = newStore();
  });

  afterAll(async () => {
    for (const s of stores) await s.close();
    await db?.drop();
  });

  /** The store, with the revision each read of a stream starts from written down. */
  const watched = (store: EventStore): { store: EventStore; readsFrom: bigint[]; tailReads: bigint[][] } => {
    const readsFrom: bigint[] = [];
    const tailReads: bigint[][] = [];
    return {
      readsFrom,
      tailReads,
      store: {
        ...store,
        append: (s, e, x) => store.append(s, e, x),
        readAll: (a, n) => store.readAll(a, n),
        headPosition: () => store.headPosition(),
        ping: () => store.ping(),
        close: () => store.close(),
        read: (stream, from) => {
          readsFrom.push(from ?? 0n);
          return store.read(stream, from);
        },
        readTails: (reads) => {
          tailReads.push(reads.map((r) => r.fromRevision));
          return store.readTails!(reads);
        },
      },
    };
  };

  const now = (): string => new Date().toISOString();
  const start = (sessionId: string, hash: string): SessionCommand => ({
    type: 'StartSession',
    sessionId: sessionId as SessionId,
    userId: randomUUID() as UserId,
    deviceId: 'laptop',
    refreshTokenHash: hash,
    ip: null,
    userAgent: null,
    now: now(),
    absoluteTtlSeconds: 3600,
  });
  const refresh = (presentedHash: string, newHash: string): SessionCommand => ({
    type: 'RefreshSession',
    presentedHash,
    newHash,
    now: now(),
    graceSeconds: 0,
    idleTtlSeconds: 3600,
    userAllowsSession: true,
  });

  it('reads only the events after the remembered revision, and folds to the same state as a full read', async () => {
    const { store, readsFrom } = watched(one);
    const sid = randomUUID();
    const stream = sessionStream(sid);
    await handle(store, stream, sessionDecider, start(sid, 'h0'), {});
    for (let i = 1; i <= 5; i++) await handle(store, stream, sessionDecider, refresh(`h${i - 1}`, `h${i}`), {});
    readsFrom.length = 0;
    const remembered = await load(store, stream, sessionDecider);
    expect(readsFrom).toEqual([6n]);
    expect(remembered.revision).toBe(5n);
    expect(remembered.state.currentHash).toBe('h5');
    // A process that remembers nothing (a new store) reads it all and agrees.
    const fresh = await load(newStore(), stream, sessionDecider);
    expect(fresh).toEqual(remembered);
  });

  it('a rotation made by another process is seen by the next refresh here: its token is current there, its predecessor counts as reuse', async () => {
    const sid = randomUUID();
    const stream = sessionStream(sid);
    await handle(one, stream, sessionDecider, start(sid, 'a0'), {});
    await handle(one, stream, sessionDecider, refresh('a0', 'a1'), {});
    expect((await load(one, stream, sessionDecider)).state.currentHash).toBe('a1');
    // The other process rotates a1 → a2; this one still remembers a1 as current.
    await handle(two, stream, sessionDecider, refresh('a1', 'a2'), {});
    const r = await handle(one, stream, sessionDecider, refresh('a2', 'a3'), {}, await load(one, stream, sessionDecider));
    expect(r.events.map((e) => e.type)).toEqual(['SessionRefreshed']);
    expect(r.state.currentHash).toBe('a3');
    // Back in the other process, a1 (spent) is reuse: the session ends.
    const reuse = await handle(two, stream, sessionDecider, refresh('a1', 'x'), {}, await load(two, stream, sessionDecider));
    expect(reuse.events).toEqual([
      expect.objectContaining({ type: 'SessionRevoked', data: expect.objectContaining({ reason: 'reuse-detected' }) }),
    ]);
  });

  it('two remembered streams come in one round trip, each from its own revision, with what another process appended', async () => {
    const { store, readsFrom, tailReads } = watched(one);
    const [s1, s2] = [randomUUID(), randomUUID()];
    await handle(store, sessionStream(s1), sessionDecider, start(s1, 'c0'), {});
    await handle(store, sessionStream(s2), sessionDecider, start(s2, 'd0'), {});
    await handle(store, sessionStream(s2), sessionDecider, refresh('d0', 'd1'), {});
    // Elsewhere: s1 is refreshed twice.
    await handle(two, sessionStream(s1), sessionDecider, refresh('c0', 'c1'), {});
    await handle(two, sessionStream(s1), sessionDecider, refresh('c1', 'c2'), {});
    readsFrom.length = 0;
    const [a, b] = await loadBoth(store, [sessionStream(s1), sessionDecider], [sessionStream(s2), sessionDecider]);
    expect(tailReads).toEqual([[1n, 2n]]);
    expect(readsFrom).toEqual([]);
    expect([a.revision, a.state.currentHash, b.revision, b.state.currentHash]).toEqual([2n, 'c2', 1n, 'd1']);
    expect(a).toEqual(await load(newStore(), sessionStream(s1), sessionDecider));
  });

  it('a decision taken on a stale state (the stream moved on meanwhile) is taken again on the new one, not appended', async () => {
    const sid = randomUUID();
    const stream = sessionStream(sid);
    await handle(one, stream, sessionDecider, start(sid, 'b0'), {});
    const stale = await load(one, stream, sessionDecider);
    await handle(two, stream, sessionDecider, refresh('b0', 'b1'), {});
    // Presenting b0 again on the stale state looks like a normal rotation; the append's
    // expected revision refuses it and the decision on the current stream is reuse.
    const r = await handle(one, stream, sessionDecider, refresh('b0', 'b2'), {}, stale);
    expect(r.events.map((e) => e.type)).toEqual(['SessionRevoked']);
    await expect(handle(one, stream, sessionDecider, refresh('b1', 'b3'), {})).rejects.toBeInstanceOf(DomainError);
  });
});
