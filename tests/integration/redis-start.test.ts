import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import Redis from 'ioredis';
import { ensureRedis, mayStartOwnRedis } from '../../src/infra/redis';

/** Nothing listens on this port of the fault tests' range unless a test starts it. */
const URL = 'redis://127.0.0.1:6393';
const log = pino({ level: 'silent' });

const answers = async (url: string): Promise<boolean> => {
  const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return (await c.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    c.disconnect();
  }
};

describe('a Redis of its own, only when nobody named one', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'iam-ensure-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is allowed only in development with REDIS_URL unset', () => {
    expect(mayStartOwnRedis({})).toBe(true);
    expect(mayStartOwnRedis({ NODE_ENV: 'development', REDIS_URL: '' })).toBe(true);
    expect(mayStartOwnRedis({ REDIS_URL: 'redis://127.0.0.1:6379' })).toBe(false);
    expect(mayStartOwnRedis({ NODE_ENV: 'production' })).toBe(false);
    expect(mayStartOwnRedis({ NODE_ENV: 'test' })).toBe(false);
  });

  it('when the operator named a Redis that does not answer, the start fails with a clear message and starts nothing', async () => {
    expect(await answers(URL)).toBe(false);
    const attempt = ensureRedis(URL, dir, log, false);
    await expect(attempt).rejects.toThrow(
      /Redis is not reachable at redis:\/\/127\.0\.0\.1:6393.*only in development with REDIS_URL unset/s,
    );
    // Had one been started, stop it so the next test is not fooled.
    await attempt.then((h) => h.stop()).catch(() => undefined);
    expect(await answers(URL)).toBe(false);
  });

  it('in development with no REDIS_URL, one is started when none answers', async () => {
    const handle = await ensureRedis(URL, dir, log, true);
    try {
      expect(await answers(URL)).toBe(true);
    } finally {
      await handle.stop();
    }
    expect(await answers(URL)).toBe(false);
  });
});
