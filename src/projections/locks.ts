import { Client } from 'pg';

/**
 * Session-level advisory locks of one process on one connection: whoever holds a projection's
 * lock is its one active runner. If the connection dies every lock is gone at once, and each
 * runner, told so, goes back to trying.
 */
export class AdvisoryLocks {
  private client: Client | null = null;
  private connecting: Promise<Client> | null = null;
  private readonly held = new Set<string>();
  private readonly lostListeners = new Set<() => void>();
  /** One query at a time on the shared connection. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly connectionString: string) {}

  private connect(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      // Named so operators (and the failover test) can see which process holds the locks.
      const c = new Client({ connectionString: this.connectionString, application_name: `iam-projector:${process.pid}` });
      const lost = () => {
        if (this.client !== c) return;
        this.client = null;
        this.held.clear();
        this.lostListeners.forEach((l) => l());
      };
      c.on('error', lost);
      c.on('end', lost);
      try {
        await c.connect();
      } catch (e) {
        this.connecting = null;
        throw e;
      }
      this.client = c;
      this.connecting = null;
      return c;
    })();
    return this.connecting;
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.queue.then(f, f);
    this.queue = run.catch(() => undefined);
    return run;
  }

  onLost(listener: () => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  tryLock(key: string): Promise<boolean> {
    return this.serial(async () => {
      if (this.held.has(key)) return true;
      const c = await this.connect();
      const { rows } = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [key]);
      if (rows[0].ok) this.held.add(key);
      return rows[0].ok;
    });
  }

  unlock(key: string): Promise<void> {
    return this.serial(async () => {
      const c = this.client;
      if (!this.held.delete(key) || !c) return;
      await c.query('SELECT pg_advisory_unlock(hashtext($1))', [key]).catch(() => undefined);
    });
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    this.held.clear();
    if (c) await c.end().catch(() => undefined);
  }
}
