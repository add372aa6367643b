import { Knex } from 'knex';
import { Client } from 'pg';
import { Logger } from 'pino';
import { comparePositions, Position } from '../eventstore/types';
import { positionOf, readCheckpoints } from './checkpoints';

interface Waiting {
  position: Position;
  names: readonly string[];
  resolve: (ok: boolean) => void;
  timer: NodeJS.Timeout;
}

/**
 * Read-your-writes: resolves when every named projection has checkpointed at or past a
 * position. Fed directly by in-process runners and, across processes, by NOTIFY from the
 * projector's batch transactions (with a slow poll as a safety net).
 */
export class CheckpointWaiter {
  private readonly positions = new Map<string, Position | null>();
  private readonly waiting = new Set<Waiting>();
  private listener: Client | null = null;
  private poll: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly knex: Knex,
    private readonly connectionString: string,
    readonly names: readonly string[],
    private readonly log: Logger,
  ) {
    for (const n of names) this.positions.set(n, null);
  }

  async start(): Promise<void> {
    await this.refresh();
    const client = new Client({ connectionString: this.connectionString });
    client.on('notification', () => void this.refresh());
    client.on('error', (err) => this.log.warn({ err }, 'checkpoint listener lost; polling'));
    await client.connect();
    await client.query('LISTEN projection_checkpoint');
    this.listener = client;
    this.poll = setInterval(() => {
      if (this.waiting.size > 0) void this.refresh();
    }, 200);
    this.poll.unref();
  }

  async stop(): Promise<void> {
    if (this.poll) clearInterval(this.poll);
    for (const w of this.waiting) {
      clearTimeout(w.timer);
      w.resolve(false);
    }
    this.waiting.clear();
    const l = this.listener;
    this.listener = null;
    if (l) await l.end().catch(() => undefined);
  }

  /** In-process runners report here so a waiting request resumes without a round trip. */
  update(name: string, position: Position): void {
    if (!this.positions.has(name)) return;
    const cur = this.positions.get(name);
    if (!cur || comparePositions(position, cur) > 0) this.positions.set(name, position);
    this.settle();
  }

  private reached(position: Position, names: readonly string[]): boolean {
    for (const n of names) {
      const p = this.positions.get(n);
      if (!p || comparePositions(p, position) < 0) return false;
    }
    return true;
  }

  /**
   * True when the named projections (default: all this waiter knows) reached the position in
   * time; false on timeout (the caller still answers).
   */
  whenProcessed(position: Position | null, timeoutMs: number, names: readonly string[] = this.names): Promise<boolean> {
    if (!position || this.reached(position, names)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w: Waiting = {
        position,
        names,
        resolve,
        timer: setTimeout(() => {
          this.waiting.delete(w);
          resolve(false);
        }, timeoutMs),
      };
      this.waiting.add(w);
      void this.refresh();
    });
  }

  private settle(): void {
    for (const w of this.waiting) {
      if (this.reached(w.position, w.names)) {
        clearTimeout(w.timer);
        this.waiting.delete(w);
        w.resolve(true);
      }
    }
  }

  private refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        for (const row of await readCheckpoints(this.knex)) {
          const p = positionOf(row);
          if (p) this.update(row.name, p);
        }
      } catch (err) {
        this.log.warn({ err }, 'reading checkpoints failed');
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }
}
