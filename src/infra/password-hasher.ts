import { createHash } from 'node:crypto';
import os from 'node:os';
import { Worker } from 'node:worker_threads';

/** The form every password is hashed and compared in, so the same text typed on any device matches. */
export const normalisePassword = (password: string): string => password.normalize('NFKC');

/**
 * What bcrypt is given: base64(SHA-256(NFKC(password))), 44 ASCII characters. bcrypt reads only
 * the first 72 bytes of its input, so hashing first makes every character count (a 128-character
 * password of multi-byte characters is up to 512 bytes) and never truncates silently; base64
 * keeps NUL bytes, where bcrypt implementations stop, out of its input.
 */
export const prehash = (password: string): string => createHash('sha256').update(normalisePassword(password), 'utf8').digest('base64');

/**
 * bcryptjs in a pool of worker threads, one per core, so a storm of logins keeps the event loop
 * free for everything else. The threads run at a lower priority (nice, default 10): hashing
 * takes whatever CPU is idle (a storm still uses every core) but yields at once to the event
 * loops and the databases, so other requests keep their latency during a storm. The worker is plain JavaScript (eval) so it runs the same under ts and dist.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const bcrypt = require('bcryptjs');
// Linux keeps a nice value per thread: this lowers only the hashing thread.
if (workerData.nice > 0) {
  try { require('node:os').setPriority(workerData.nice); } catch (e) { /* not permitted here: run at normal priority */ }
}
parentPort.on('message', (m) => {
  try {
    const result = m.op === 'hash' ? bcrypt.hashSync(m.password, m.cost) : bcrypt.compareSync(m.password, m.hash);
    parentPort.postMessage({ id: m.id, result });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String(e && e.message || e) });
  }
});
`;

type Job = { op: 'hash'; password: string; cost: number } | { op: 'compare'; password: string; hash: string };

interface Pending {
  resolve: (v: string | boolean) => void;
  reject: (e: Error) => void;
}

export class PasswordHasher {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: { job: Job & { id: number }; pending: Pending }[] = [];
  private readonly inFlight = new Map<Worker, Map<number, Pending>>();
  private nextId = 1;
  /** A real hash of a random password: unknown users are compared against it, costing the same. */
  private dummyHash: Promise<string> | null = null;

  constructor(
    readonly cost: number,
    size = Math.max(1, os.availableParallelism?.() ?? os.cpus().length),
    nice = 10,
  ) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { nice } });
      w.unref();
      w.on('message', (m: { id: number; result?: string | boolean; error?: string }) => {
        const p = this.inFlight.get(w)?.get(m.id);
        this.inFlight.get(w)?.delete(m.id);
        if (p) m.error ? p.reject(new Error(m.error)) : p.resolve(m.result as string | boolean);
        this.release(w);
      });
      this.inFlight.set(w, new Map());
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  private release(w: Worker): void {
    const next = this.queue.shift();
    if (next) this.send(w, next.job, next.pending);
    else this.idle.push(w);
  }

  private send(w: Worker, job: Job & { id: number }, pending: Pending): void {
    this.inFlight.get(w)!.set(job.id, pending);
    w.postMessage(job);
  }

  private run<T extends string | boolean>(job: Job): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const j = { ...job, id: this.nextId++ };
      const pending = { resolve: resolve as (v: string | boolean) => void, reject };
      const w = this.idle.pop();
      if (w) this.send(w, j, pending);
      else this.queue.push({ job: j, pending });
    });
  }

  hash(password: string): Promise<string> {
    return this.run<string>({ op: 'hash', password: prehash(password), cost: this.cost });
  }

  compare(password: string, hash: string): Promise<boolean> {
    return this.run<boolean>({ op: 'compare', password: prehash(password), hash });
  }

  /** Compares against the user's hash, or against a dummy one when there is no user. */
  async verify(password: string, hash: string | null): Promise<boolean> {
    this.dummyHash ??= this.hash(`dummy-${Math.random()}`);
    const ok = await this.compare(password, hash ?? (await this.dummyHash));
    return hash !== null && ok;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
