/**
 * The machine's raw bcrypt verify rate: one worker thread per core, each running bcryptjs
 * compareSync on the pre-hashed password (exactly what a login compares) for a fixed time.
 * That is the ceiling of logins per second with this cost factor on this machine.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { prehash } from '../../src/infra/password-hasher';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const bcrypt = require('bcryptjs');
const { input, hash, ms } = workerData;
// One untimed compare first, so the JIT is warm for the counted ones.
bcrypt.compareSync(input, hash);
const started = Date.now();
let n = 0;
let ok = true;
while (Date.now() - started < ms) {
  ok = bcrypt.compareSync(input, hash) && ok;
  n++;
}
parentPort.postMessage({ n, elapsed: Date.now() - started, ok });
`;

export interface HashRate {
  threads: number;
  compares: number;
  seconds: number;
  perSecond: number;
  perThreadPerSecond: number;
}

export async function measureHashRate(
  password: string,
  hash: string,
  ms: number,
  threads = os.availableParallelism?.() ?? os.cpus().length,
): Promise<HashRate> {
  const input = prehash(password);
  const results = await Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<{ n: number; elapsed: number; ok: boolean }>((resolve, reject) => {
          const w = new Worker(WORKER, { eval: true, workerData: { input, hash, ms } });
          w.once('message', (m) => {
            resolve(m);
            void w.terminate();
          });
          w.once('error', reject);
        }),
    ),
  );
  if (!results.every((r) => r.ok))
    throw new Error('bcrypt compare of the seeded password failed: the seed hash does not match the pre-hashed password');
  const perSecond = results.reduce((a, r) => a + r.n / (r.elapsed / 1000), 0);
  return {
    threads,
    compares: results.reduce((a, r) => a + r.n, 0),
    seconds: Math.max(...results.map((r) => r.elapsed)) / 1000,
    perSecond,
    perThreadPerSecond: perSecond / threads,
  };
}
