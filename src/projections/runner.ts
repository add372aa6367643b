import { Knex } from 'knex';
import { Logger } from 'pino';
import { EventStore, Position, RecordedEvent } from '../eventstore/types';
import { CHECKPOINTS, positionColumns, positionOf, samePosition } from './checkpoints';
import { AdvisoryLocks } from './locks';

/** What a runner feeds: a projection (writes in the batch transaction) or a reactor. */
export interface RunnerTarget {
  name: string;
  handles: ReadonlySet<string>;
  /** The batch's events this target handles (never empty), in log order. */
  applyBatch(events: RecordedEvent[], trx: Knex.Transaction): Promise<void>;
}

export interface RunnerOptions {
  knex: Knex;
  store: EventStore;
  /** The process's advisory locks: holding this target's makes this the one active runner. */
  locks: AdvisoryLocks;
  log: Logger;
  batchSize?: number;
  idlePollMs?: number;
  lockRetryMs?: number;
  /** Row in projection_checkpoints (defaults to the target's name). */
  checkpointName?: string;
  /** Schema searched first for unqualified table names (replays build in a scratch schema). */
  schema?: string;
  /** Where a runner with no checkpoint row starts: the beginning, or the head (reactors). */
  startAt?: 'beginning' | 'head';
  version?: number;
  onCheckpoint?: (name: string, position: Position) => void;
}

class CheckpointMoved extends Error {}

const lockKey = (name: string): string => `projection:${name}`;

/**
 * Tails the log for one target: batch, apply, checkpoint, all in one transaction. Exactly-once
 * in effect even with two runners alive: the batch commits only if the checkpoint row still
 * holds the position the batch was read from (locked FOR UPDATE), so a second runner's batch
 * rolls back instead of applying twice. The advisory lock keeps the second one idle meanwhile.
 */
export class ProjectionRunner {
  private checkpoint: Position | null = null;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private holding = false;
  private unsubscribe: (() => void) | null = null;
  private unsubscribeLost: (() => void) | null = null;
  readonly checkpointName: string;
  private readonly batchSize: number;

  constructor(
    private readonly target: RunnerTarget,
    private readonly o: RunnerOptions,
  ) {
    this.checkpointName = o.checkpointName ?? target.name;
    this.batchSize = o.batchSize ?? 500;
  }

  get position(): Position | null {
    return this.checkpoint;
  }

  get active(): boolean {
    return this.holding;
  }

  start(): void {
    if (this.loop) return;
    this.stopped = false;
    this.unsubscribe = this.o.store.onAppend?.(() => this.wake?.()) ?? null;
    // Losing the lock connection loses the lock; the checkpoint guard keeps batches correct.
    this.unsubscribeLost = this.o.locks.onLost(() => {
      this.holding = false;
    });
    this.loop = this.run();
  }

  /** Finishes the batch in hand, then releases the lock. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    this.loop = null;
    this.unsubscribe?.();
    this.unsubscribeLost?.();
    await this.releaseLock();
  }

  /** Processes batches until the log is drained once; used by replays and tests. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.runBatch();
      total += n;
      if (n < this.batchSize) return total;
    }
  }

  private async run(): Promise<void> {
    let idle = 0;
    while (!this.stopped) {
      try {
        if (!this.holding && !(await this.acquireLock())) {
          await this.pause(this.o.lockRetryMs ?? 1000);
          continue;
        }
        const n = await this.runBatch();
        if (n > 0) {
          idle = 0;
          continue;
        }
        // Woken but nothing readable yet (an older transaction still open): back off gently.
        idle = Math.min(idle + 1, 5);
        await this.pause(Math.min(this.o.idlePollMs ?? 250, 5 * 2 ** idle));
      } catch (err) {
        if (err instanceof CheckpointMoved) {
          await this.loadCheckpoint();
          continue;
        }
        this.o.log.error({ err, projection: this.checkpointName }, 'projection batch failed; retrying');
        await this.releaseLock();
        await this.pause(1000);
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  private async acquireLock(): Promise<boolean> {
    if (!(await this.o.locks.tryLock(lockKey(this.checkpointName)))) return false;
    this.holding = true;
    await this.loadCheckpoint();
    this.o.log.debug({ projection: this.checkpointName }, 'projection runner active');
    return true;
  }

  private async releaseLock(): Promise<void> {
    if (!this.holding) return;
    this.holding = false;
    await this.o.locks.unlock(lockKey(this.checkpointName));
  }

  private async loadCheckpoint(): Promise<void> {
    const { knex } = this.o;
    let row = await knex(CHECKPOINTS).where({ name: this.checkpointName }).first();
    if (!row) {
      const start = this.o.startAt === 'head' ? await this.o.store.headPosition() : null;
      await knex(CHECKPOINTS)
        .insert({ name: this.checkpointName, version: this.o.version ?? 1, ...positionColumns(start) })
        .onConflict('name')
        .ignore();
      row = await knex(CHECKPOINTS).where({ name: this.checkpointName }).first();
    }
    this.checkpoint = positionOf(row);
  }

  /** One batch: read after the checkpoint, apply what the target handles, move the checkpoint. */
  async runBatch(): Promise<number> {
    if (this.checkpoint === null && !this.holding) await this.loadCheckpoint();
    const from = this.checkpoint;
    const events = await this.o.store.readAll(from, this.batchSize);
    if (events.length === 0) return 0;
    const last = events[events.length - 1].position;
    await this.o.knex.transaction(async (trx) => {
      // A replay's scratch tables are rebuilt from the log if lost: no need to wait for the WAL flush.
      if (this.o.schema) await trx.raw(`SET LOCAL search_path TO ${this.o.schema}, public; SET LOCAL synchronous_commit TO off`);
      const row = await trx(CHECKPOINTS).where({ name: this.checkpointName }).forUpdate().first();
      if (!row || !samePosition(positionOf(row), from)) throw new CheckpointMoved();
      const handled = events.filter((e) => this.target.handles.has(e.type));
      if (handled.length) await this.target.applyBatch(handled, trx);
      await trx(CHECKPOINTS)
        .where({ name: this.checkpointName })
        .update({ ...positionColumns(last), updated_at: trx.fn.now() });
      await trx.raw('SELECT pg_notify(?, ?)', ['projection_checkpoint', this.checkpointName]);
    });
    this.checkpoint = last;
    this.o.onCheckpoint?.(this.checkpointName, last);
    return events.length;
  }
}
