import http from 'node:http';
import { AddressInfo } from 'node:net';
import Koa from 'koa';
import { claimValue, releaseValue } from '../../src/commands/claims';
import { ContentionError } from '../../src/errors';
import { backoffMs, handle, MAX_ATTEMPTS } from '../../src/commands/handle';
import { sessionDecider } from '../../src/commands/session/decider';
import { EventStore, RecordedEvent, WrongExpectedVersionError } from '../../src/eventstore/types';
import { problemMiddleware } from '../../src/http/problem';

/** A store whose every append loses the race: the stream always moved on meanwhile. Its streams hold `held`. */
const alwaysContended = (held: RecordedEvent[] = []): EventStore & { appends: number } => {
  const store = {
    appends: 0,
    async append(stream: string) {
      store.appends++;
      throw new WrongExpectedVersionError(stream, -1n, 0n);
    },
    async *read(): AsyncIterable<RecordedEvent> {
      yield* held;
    },
    readAll: async () => [],
    readRecent: async () => [],
    headPosition: async () => null,
    ping: async () => undefined,
    close: async () => undefined,
  };
  return store;
};

describe('a write that keeps losing its race', () => {
  it('is retried MAX_ATTEMPTS times, then fails as CONTENTION (not the store error)', async () => {
    const store = alwaysContended();
    const start = {
      type: 'StartSession' as const,
      sessionId: 's1' as never,
      userId: 'u1' as never,
      deviceId: 'd',
      refreshTokenHash: 'h',
      ip: null,
      userAgent: null,
      now: new Date().toISOString(),
      absoluteTtlSeconds: 60,
    };
    await expect(handle(store, 'session-s1', sessionDecider, start, {})).rejects.toBeInstanceOf(ContentionError);
    expect(store.appends).toBe(MAX_ATTEMPTS);
  });

  it('a claim of a unique value too: CONTENTION (a 503), not a plain error (a 500)', async () => {
    const store = alwaysContended();
    await expect(claimValue(store, 'email', 'ada@example.com', 'u1', {})).rejects.toBeInstanceOf(ContentionError);
    expect(store.appends).toBe(MAX_ATTEMPTS);
  });

  it('a release that keeps losing is left to the orphan rule: the write it followed still succeeds', async () => {
    const claimedByU1: RecordedEvent = {
      id: 'e1',
      type: 'ValueClaimed',
      streamId: 'emailClaim-x',
      revision: 0n,
      position: { commit: 1n, prepare: 1n },
      data: { kind: 'email', userId: 'u1', at: new Date().toISOString() },
      metadata: {},
      createdAt: new Date(),
    };
    const store = alwaysContended([claimedByU1]);
    await expect(releaseValue(store, 'email', 'ada@example.com', 'u1', {})).resolves.toBeUndefined();
    expect(store.appends).toBe(MAX_ATTEMPTS);
  });

  it('waits a random share of a doubling ceiling between attempts, capped', () => {
    expect(backoffMs(2, () => 0)).toBe(0);
    const ceilings = [2, 3, 4, 5, 6, 12, 30].map((a) => backoffMs(a, () => 0.999999));
    expect(ceilings).toEqual([3, 7, 15, 31, 63, 249, 249]);
  });
});

describe('contention and lost connections over HTTP', () => {
  const serve = async (thrown: Error): Promise<Response> => {
    const app = new Koa();
    app.use(problemMiddleware);
    app.use(() => {
      throw thrown;
    });
    const server = http.createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      return await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    } finally {
      server.close();
    }
  };

  it.each([
    ['a ContentionError', new ContentionError('user-1')],
    ['a store conflict that escaped the retries (claims)', new WrongExpectedVersionError('emailClaim-x', 'no_stream', 0n)],
  ])('%s is a 503 CONTENTION with Retry-After, never a 500', async (_, err) => {
    const res = await serve(err);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(((await res.json()) as { code: string }).code).toBe('CONTENTION');
  });

  it.each([
    [
      'a backend terminated mid-query (57P01)',
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    ],
    ['a connection that ended under a query', new Error('Connection terminated unexpectedly')],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
  ])('%s is a 503 UNAVAILABLE with Retry-After, not a 500', async (_, err) => {
    const res = await serve(err);
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await res.json()) as { code: string }).code).toBe('UNAVAILABLE');
  });

  it('any other error is still a 500 that says nothing more', async () => {
    const res = await serve(new Error('a bug'));
    expect(res.status).toBe(500);
    expect(((await res.json()) as { detail: string }).detail).not.toContain('a bug');
  });
});
