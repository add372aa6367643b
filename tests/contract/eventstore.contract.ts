import { randomUUID } from 'node:crypto';
import {
  AppendResult,
  EventStore,
  Expected,
  NewEvent,
  Position,
  RecordedEvent,
  WrongExpectedVersionError,
  comparePositions,
} from '../../src/eventstore/types';

export interface ContractFixture {
  store: EventStore;
  /** Another store instance on its own connections (a second process, in effect). */
  newStore: () => Promise<EventStore>;
  cleanup: () => Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const ev = (type: string, data: Record<string, unknown> = {}, metadata?: NewEvent['metadata']): NewEvent => ({
  id: randomUUID(),
  type,
  data,
  ...(metadata ? { metadata } : {}),
});

const evs = (n: number, type = 'Tested'): NewEvent[] => Array.from({ length: n }, (_, i) => ev(type, { i }));

/**
 * Waits (bounded) until the head reaches `pos`: a committed append may become readable a moment
 * later (PostgreSQL: while an older transaction is still running, it is held back).
 */
const headAtLeast = async (store: EventStore, pos: Position): Promise<Position | null> => {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const head = await store.headPosition();
    if ((head && comparePositions(head, pos) >= 0) || Date.now() > deadline) return head;
    await sleep(20);
  }
};

const collect = async (it: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> => {
  const out: RecordedEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
};

/** Awaits a rejection and returns it, failing the test if the promise resolves. */
const rejectionOf = async (p: Promise<unknown>): Promise<unknown> => {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject, but it resolved');
};

const expectWrongVersion = async (p: Promise<unknown>, stream: string, expected: Expected, actual: bigint): Promise<void> => {
  const err = await rejectionOf(p);
  expect(err).toBeInstanceOf(WrongExpectedVersionError);
  const wev = err as WrongExpectedVersionError;
  expect(wev.stream).toBe(stream);
  expect(wev.expected).toBe(expected);
  expect(typeof wev.actual).toBe('bigint');
  expect(wev.actual).toBe(actual);
};

/**
 * One behavioural suite for every EventStore adapter. Stream names are unique per run so the
 * suite can share a server (EventStoreDB) with other runs; reads of $all are filtered to the
 * ids this suite wrote.
 */
export function describeEventStoreContract(name: string, makeStore: () => Promise<ContractFixture>): void {
  describe(`EventStore contract: ${name}`, () => {
    let fixture: ContractFixture;
    let store: EventStore;
    const run = randomUUID().slice(0, 8);
    const streamName = (label: string): string => `contract_${run}-${label}-${randomUUID()}`;

    beforeAll(async () => {
      fixture = await makeStore();
      store = fixture.store;
    });

    afterAll(async () => {
      await fixture?.cleanup();
    });

    describe('expected version', () => {
      it('no_stream succeeds on a new stream and fails on an existing one with the actual revision', async () => {
        const s = streamName('nostream');
        const first = await store.append(s, evs(3), 'no_stream');
        expect(first.nextRevision).toBe(2n);
        await expectWrongVersion(store.append(s, evs(1), 'no_stream'), s, 'no_stream', 2n);
        expect(await collect(store.read(s))).toHaveLength(3);
      });

      it('exists fails on a missing stream (actual -1) and succeeds on an existing one', async () => {
        const s = streamName('exists');
        await expectWrongVersion(store.append(s, evs(1), 'exists'), s, 'exists', -1n);
        expect(await collect(store.read(s))).toHaveLength(0);
        await store.append(s, evs(1), 'no_stream');
        const r = await store.append(s, evs(2), 'exists');
        expect(r.nextRevision).toBe(2n);
      });

      it('an exact revision succeeds when it matches and fails with the actual revision otherwise', async () => {
        const s = streamName('exact');
        await expectWrongVersion(store.append(s, evs(1), 0n), s, 0n, -1n);
        expect((await store.append(s, evs(1), 'no_stream')).nextRevision).toBe(0n);
        expect((await store.append(s, evs(2), 0n)).nextRevision).toBe(2n);
        await expectWrongVersion(store.append(s, evs(1), 0n), s, 0n, 2n);
        await expectWrongVersion(store.append(s, evs(1), 5n), s, 5n, 2n);
        expect((await store.append(s, evs(1), 2n)).nextRevision).toBe(3n);
        const read = await collect(store.read(s));
        expect(read.map((e) => e.revision)).toEqual([0n, 1n, 2n, 3n]);
      });

      it('any always succeeds, on a new stream and on an existing one', async () => {
        const s = streamName('any');
        expect((await store.append(s, evs(1), 'any')).nextRevision).toBe(0n);
        expect((await store.append(s, evs(4), 'any')).nextRevision).toBe(4n);
        expect((await store.append(s, evs(1), 'any')).nextRevision).toBe(5n);
      });

      it('revisions are 0-based: the first event is revision 0 and nextRevision is the last revision', async () => {
        const s = streamName('zero');
        const r = await store.append(s, evs(3), 'no_stream');
        expect(r.nextRevision).toBe(2n);
        const read = await collect(store.read(s));
        expect(read.map((e) => e.revision)).toEqual([0n, 1n, 2n]);
        // The returned position is the position of the last event appended.
        expect(comparePositions(r.position, read[2].position)).toBe(0);
        expect(comparePositions(read[0].position, read[1].position)).toBeLessThan(0);
        expect(comparePositions(read[1].position, read[2].position)).toBeLessThan(0);
      });
    });

    describe('concurrency', () => {
      let other: EventStore;
      beforeAll(async () => {
        other = await fixture.newStore();
      });
      afterAll(async () => {
        await other?.close();
      });

      it('of two concurrent appends at the same revision exactly one wins; the loser learns the actual revision', async () => {
        for (let round = 0; round < 10; round++) {
          const s = streamName(`race${round}`);
          await store.append(s, evs(1), 'no_stream');
          // Different batch sizes, so the loser's `actual` tells which append won.
          const attempts = [store.append(s, evs(2), 0n), other.append(s, evs(3), 0n)];
          const settled = await Promise.allSettled(attempts);
          const won = settled.filter((x): x is PromiseFulfilledResult<AppendResult> => x.status === 'fulfilled');
          const lost = settled.filter((x): x is PromiseRejectedResult => x.status === 'rejected');
          expect(won).toHaveLength(1);
          expect(lost).toHaveLength(1);
          const winner = won[0].value;
          const err = lost[0].reason as unknown;
          expect(err).toBeInstanceOf(WrongExpectedVersionError);
          const wev = err as WrongExpectedVersionError;
          expect(typeof wev.actual).toBe('bigint');
          expect(wev.actual).toBe(winner.nextRevision);
          expect(wev.expected).toBe(0n);
          const read = await collect(store.read(s));
          expect(BigInt(read.length - 1)).toBe(winner.nextRevision);
        }
      });

      it('of two concurrent no_stream appends to a new stream exactly one wins', async () => {
        for (let round = 0; round < 10; round++) {
          const s = streamName(`claim${round}`);
          const settled = await Promise.allSettled([store.append(s, evs(1), 'no_stream'), other.append(s, evs(2), 'no_stream')]);
          const won = settled.filter((x) => x.status === 'fulfilled');
          const lost = settled.filter((x): x is PromiseRejectedResult => x.status === 'rejected');
          expect(won).toHaveLength(1);
          expect(lost).toHaveLength(1);
          const wev = lost[0].reason as WrongExpectedVersionError;
          expect(wev).toBeInstanceOf(WrongExpectedVersionError);
          expect(wev.actual).toBe(settled[0].status === 'fulfilled' ? 0n : 1n);
        }
      });
    });

    describe('onAppend (optional)', () => {
      it('when implemented, wakes a listener after another instance appends, until unsubscribed', async () => {
        if (!store.onAppend) return;
        const other = await fixture.newStore();
        let calls = 0;
        const told: (Position | undefined)[] = [];
        const unsubscribe = store.onAppend((appended) => {
          calls++;
          told.push(appended);
        });
        try {
          // The subscription starts asynchronously: keep appending until the first wake-up.
          const s = streamName('wake');
          const deadline = Date.now() + 10_000;
          while (calls === 0 && Date.now() < deadline) {
            await other.append(s, evs(1), 'any');
            for (let i = 0; i < 20 && calls === 0; i++) await sleep(10);
          }
          expect(calls).toBeGreaterThan(0);
          // A store that tells where the append landed tells it exactly.
          const seen = calls;
          const r = await other.append(s, evs(2), 'any');
          for (
            let i = 0;
            i < 200 &&
            (told.length === 0 || comparePositions(told[told.length - 1]!, r.position) < 0) &&
            told.every((p) => p !== undefined);
            i++
          )
            await sleep(10);
          expect(calls).toBeGreaterThan(seen);
          if (told[told.length - 1] !== undefined) expect(told[told.length - 1]).toEqual(r.position);
          unsubscribe();
          const before = calls;
          await other.append(s, evs(1), 'any');
          await sleep(300);
          expect(calls).toBe(before);
        } finally {
          unsubscribe();
          await other.close();
        }
      });
    });

    describe('read', () => {
      it('returns a stream in revision order with id, type, data and metadata preserved', async () => {
        const s = streamName('read');
        const written: NewEvent[] = [
          ev(
            'UserRegistered',
            { email: 'a@example.com', nested: { roles: ['admin'], n: 1.5 } },
            {
              actorId: 'u-1',
              correlationId: 'c-1',
              causationId: 'k-1',
              ip: '10.0.0.1',
              userAgent: 'jest',
            },
          ),
          ev('EmailVerified', { at: '2024-01-01T00:00:00.000Z', flag: true, none: null }),
          { type: 'NoIdGiven', data: { list: [1, 2, 3] } },
        ];
        const r1 = await store.append(s, written.slice(0, 2), 'no_stream');
        const r2 = await store.append(s, written.slice(2), 1n);
        const read = await collect(store.read(s));
        expect(read).toHaveLength(3);
        expect(read.map((e) => e.revision)).toEqual([0n, 1n, 2n]);
        expect(read.map((e) => e.streamId)).toEqual([s, s, s]);
        expect(read.map((e) => e.type)).toEqual(['UserRegistered', 'EmailVerified', 'NoIdGiven']);
        expect(read[0].id).toBe(written[0].id);
        expect(read[1].id).toBe(written[1].id);
        expect(read[2].id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
        expect(read.map((e) => e.data)).toEqual(written.map((e) => e.data));
        expect(read[0].metadata).toEqual(written[0].metadata);
        expect(read[1].metadata).toEqual({});
        expect(read[2].metadata).toEqual({});
        for (const e of read) expect(e.createdAt).toBeInstanceOf(Date);
        expect(comparePositions(read[1].position, r1.position)).toBe(0);
        expect(comparePositions(read[2].position, r2.position)).toBe(0);
      });

      it('reads a missing stream as empty', async () => {
        expect(await collect(store.read(streamName('missing')))).toEqual([]);
      });

      it('reads from a revision on: the events at and after it, none past the end', async () => {
        const s = streamName('from');
        const written = [ev('One'), ev('Two'), ev('Three'), ev('Four')];
        await store.append(s, written, 'no_stream');
        expect((await collect(store.read(s, 2n))).map((e) => [e.revision, e.id])).toEqual([
          [2n, written[2].id],
          [3n, written[3].id],
        ]);
        expect(await collect(store.read(s, 0n))).toHaveLength(4);
        expect(await collect(store.read(s, 4n))).toEqual([]);
        expect(await collect(store.read(streamName('missing'), 3n))).toEqual([]);
      });

      it('readTails (optional): several streams, each from its revision on, in the order asked', async () => {
        if (!store.readTails) return;
        const [a, b] = [streamName('tailA'), streamName('tailB')];
        const wa = [ev('A0'), ev('A1'), ev('A2')];
        const wb = [ev('B0'), ev('B1')];
        await store.append(a, wa, 'no_stream');
        await store.append(b, wb, 'no_stream');
        const tails = await store.readTails([
          { stream: b, fromRevision: 0n },
          { stream: streamName('missing'), fromRevision: 0n },
          { stream: a, fromRevision: 1n },
          { stream: a, fromRevision: 3n },
        ]);
        expect(tails.map((t) => t.map((e) => [e.streamId, e.revision, e.id]))).toEqual([
          [
            [b, 0n, wb[0].id],
            [b, 1n, wb[1].id],
          ],
          [],
          [
            [a, 1n, wa[1].id],
            [a, 2n, wa[2].id],
          ],
          [],
        ]);
        expect(tails[0][1].data).toEqual(wb[1].data);
      });

      it('appends a stream of 10,000 events in batches and reads it back completely, in order', async () => {
        const s = streamName('long');
        const total = 10_000;
        const batch = 500;
        const ids: string[] = [];
        let expected: Expected = 'no_stream';
        for (let i = 0; i < total; i += batch) {
          const events = Array.from({ length: batch }, (_, j) => ev('Counted', { n: i + j }));
          ids.push(...events.map((e) => e.id as string));
          const r = await store.append(s, events, expected);
          expect(r.nextRevision).toBe(BigInt(i + batch - 1));
          expected = r.nextRevision;
        }
        let n = 0;
        for await (const e of store.read(s)) {
          expect(e.revision).toBe(BigInt(n));
          expect(e.id).toBe(ids[n]);
          expect(e.data).toEqual({ n });
          n++;
        }
        expect(n).toBe(total);
      });
    });

    describe('readAll', () => {
      it('a tailing reader sees every event of 20 concurrent writers exactly once, in increasing positions', async () => {
        const writers = 20;
        const perWriter = 500;
        const start = await store.headPosition();
        const writerStores = await Promise.all(Array.from({ length: writers }, () => fixture.newStore()));
        const mine = new Set<string>();
        let writing = true;
        let writingEndedAt = Infinity;

        const write = async (w: number, ws: EventStore): Promise<void> => {
          const streams = Array.from({ length: 5 }, (_, k) => streamName(`w${w}s${k}`));
          const revisions = new Map<string, Expected>(streams.map((s) => [s, 'no_stream']));
          let written = 0;
          for (let k = 0; written < perWriter; k++) {
            // Batches of 1 to 4 events, so many small transactions commit in arbitrary order.
            const size = Math.min(perWriter - written, 1 + ((w + k) % 4));
            const s = streams[k % streams.length];
            const events = evs(size, 'Written');
            for (const e of events) mine.add(e.id as string);
            const r = await ws.append(s, events, revisions.get(s) as Expected);
            revisions.set(s, r.nextRevision);
            written += size;
          }
        };

        const seen = new Set<string>();
        const duplicates: string[] = [];
        let outOfOrder = 0;
        const tail = async (): Promise<void> => {
          let after: Position | null = start;
          const deadline = Date.now() + 45_000;
          for (;;) {
            // Once the writers are done, what is committed must become readable promptly.
            const giveUpAt = Math.min(deadline, writingEndedAt + 10_000);
            const batch = await store.readAll(after, 250);
            for (const e of batch) {
              if (after && comparePositions(e.position, after) <= 0) outOfOrder++;
              after = e.position;
              if (!mine.has(e.id)) continue;
              if (seen.has(e.id)) duplicates.push(e.id);
              seen.add(e.id);
            }
            if (!writing && seen.size >= mine.size && batch.length === 0) return;
            if (Date.now() > giveUpAt) return;
            if (batch.length === 0) await sleep(5);
          }
        };

        try {
          const tailing = tail();
          await Promise.all(writerStores.map((ws, w) => write(w, ws)));
          writing = false;
          writingEndedAt = Date.now();
          await tailing;
        } finally {
          writing = false;
          await Promise.all(writerStores.map((ws) => ws.close()));
        }

        expect(mine.size).toBe(writers * perWriter);
        expect(duplicates).toEqual([]);
        expect(outOfOrder).toBe(0);
        expect(seen.size).toBe(writers * perWriter);
        expect([...mine].filter((id) => !seen.has(id))).toEqual([]);

        // A second pass over the now-quiet log agrees with what the tailing reader saw.
        let after: Position | null = start;
        let again = 0;
        for (;;) {
          const batch = await store.readAll(after, 1000);
          if (batch.length === 0) break;
          expect(batch.length).toBeLessThanOrEqual(1000);
          for (const e of batch) {
            if (after) expect(comparePositions(e.position, after)).toBeGreaterThan(0);
            after = e.position;
            if (mine.has(e.id)) again++;
          }
        }
        expect(again).toBe(writers * perWriter);
      });

      it('is exclusive of `after` and honours batchSize', async () => {
        const s = streamName('batch');
        const r = await store.append(s, evs(5), 'no_stream');
        await headAtLeast(store, r.position);
        const read = await collect(store.read(s));
        const ids = new Set(read.map((e) => e.id));
        // From the first of our events: the next ones follow (others' events may interleave on
        // a shared server), and the event at `after` itself is not repeated.
        const fromFirst = await store.readAll(read[0].position, 4);
        expect(fromFirst).toHaveLength(4);
        expect(fromFirst.some((e) => e.id === read[0].id)).toBe(false);
        const oursInBatch = fromFirst.map((e) => e.id).filter((id) => ids.has(id));
        expect(oursInBatch.length).toBeGreaterThan(0);
        expect(oursInBatch).toEqual(read.slice(1, 1 + oursInBatch.length).map((e) => e.id));
        const afterLast = await store.readAll(r.position, 10);
        expect(afterLast.some((e) => ids.has(e.id))).toBe(false);
        const fromStart = await store.readAll(null, 3);
        expect(fromStart).toHaveLength(3);
        expect(comparePositions(fromStart[0].position, fromStart[1].position)).toBeLessThan(0);
        expect(comparePositions(fromStart[1].position, fromStart[2].position)).toBeLessThan(0);
      });
    });

    describe('readRecent', () => {
      it('returns the events of the asked types appended at or after a time, in global order, and nothing older', async () => {
        // Types of this run only: a shared server holds other runs' events.
        const [a, b, c] = ['A', 'B', 'C'].map((t) => `Recent${t}_${run}`);
        const s1 = streamName('recent1');
        const s2 = streamName('recent2');
        await store.append(s1, [ev(a, { n: 'old' })], 'no_stream');
        const [old] = await collect(store.read(s1));
        await sleep(30);
        // The store's own clock draws the line: a moment after the old event was written.
        const since = new Date(old.createdAt.getTime() + 5);
        await sleep(30);
        await store.append(s1, [ev(a, { n: 1 }), ev(b, { n: 2 })], 0n);
        await store.append(s2, [ev(c, { n: 3 }), ev(a, { n: 4 })], 'no_stream');
        const recent = await store.readRecent(since, [a, c]);
        expect(recent.map((e) => [e.type, e.data.n])).toEqual([
          [a, 1],
          [c, 3],
          [a, 4],
        ]);
        for (let i = 1; i < recent.length; i++) expect(comparePositions(recent[i - 1].position, recent[i].position)).toBeLessThan(0);
        expect(recent.every((e) => e.createdAt >= since)).toBe(true);
        expect(recent.map((e) => e.streamId)).toEqual([s1, s2, s2]);
        expect(recent[0].revision).toBe(1n);
        expect(await store.readRecent(new Date(Date.now() + 60_000), [a, b, c])).toEqual([]);
        expect(await store.readRecent(since, [`Absent_${run}`])).toEqual([]);
      });
    });

    describe('headPosition', () => {
      it('is behind an append before it and at the last appended event after it', async () => {
        const s = streamName('head');
        const before = await store.headPosition();
        const r = await store.append(s, evs(3), 'no_stream');
        if (before !== null) expect(comparePositions(before, r.position)).toBeLessThan(0);

        const head = await headAtLeast(store, r.position);
        expect(head).not.toBeNull();
        const h = head as Position;
        expect(comparePositions(h, r.position)).toBeGreaterThanOrEqual(0);
        // The head is the newest readable event: ours unless someone else (a shared server)
        // appended after it, in which case it is exactly the last of those up to the head.
        const later: RecordedEvent[] = [];
        let after: Position = r.position;
        for (;;) {
          const batch = (await store.readAll(after, 500)).filter((e) => comparePositions(e.position, h) <= 0);
          if (batch.length === 0) break;
          expect(comparePositions(batch[0].position, after)).toBeGreaterThan(0);
          later.push(...batch);
          after = batch[batch.length - 1].position;
        }
        const expectedHead = later.length ? later[later.length - 1].position : r.position;
        expect(comparePositions(h, expectedHead)).toBe(0);
      });

      it('ping succeeds on an open store', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
      });
    });
  });
}
