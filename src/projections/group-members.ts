import { Knex } from 'knex';
import { Logger } from 'pino';
import { EventStore, Position, RecordedEvent } from '../eventstore/types';
import { CheckpointRow, CHECKPOINTS, positionColumns, positionOf } from './checkpoints';
import { AdvisoryLocks } from './locks';

/** What a group feeds: a projection (writes in the batch transaction) or a reactor. */
export interface RunnerTarget {
  name: string;
  handles: ReadonlySet<string>;
  /** The batch's events this target handles (never empty), in log order. */
  applyBatch(events: RecordedEvent[], trx: Knex.Transaction): Promise<void>;
}

export interface GroupMemberOptions {
  /** Where a member with no checkpoint row starts: the beginning, or the head (reactors). */
  startAt?: 'beginning' | 'head';
  version?: number;
}

export interface Member {
  target: RunnerTarget;
  options: GroupMemberOptions;
  /** Where the member stands: every event up to it is applied (or was not its kind). */
  checkpoint: Position | null;
  /** What its checkpoint row holds, as this process last wrote or read it. */
  persisted: Position | null;
  loaded: boolean;
  holding: boolean;
  /** After a failed apply: left out of batches until then (ms since epoch), doubling up to 30 s. */
  failedUntil: number;
  failures: number;
}

export interface MembersOptions {
  knex: Knex;
  store: EventStore;
  locks: AdvisoryLocks;
  log: Logger;
  /** The group's name, for logs. */
  name: string;
  lockRetryMs?: number;
}

const lockKey = (name: string): string => `projection:${name}`;

/**
 * A group's members and what makes each one's runner the only one: its advisory lock, and its
 * checkpoint row, loaded when the lock is taken.
 */
export class GroupMembers {
  readonly all: Member[];
  private nextLockAttempt = 0;
  private unsubscribeLost: (() => void) | null = null;

  constructor(
    targets: readonly { target: RunnerTarget; options?: GroupMemberOptions }[],
    private readonly o: MembersOptions,
  ) {
    this.all = targets.map(({ target, options }) => ({
      target,
      options: options ?? {},
      checkpoint: null,
      persisted: null,
      loaded: false,
      holding: false,
      failedUntil: 0,
      failures: 0,
    }));
  }

  get status(): { name: string; active: boolean; position: Position | null }[] {
    return this.all.map((m) => ({ name: m.target.name, active: m.holding, position: m.checkpoint }));
  }

  start(): void {
    // Losing the lock connection loses every lock; the checkpoint guard keeps batches correct.
    this.unsubscribeLost = this.o.locks.onLost(() => {
      for (const m of this.all) m.holding = false;
      this.nextLockAttempt = 0;
    });
  }

  stop(): void {
    this.unsubscribeLost?.();
  }

  /** The members this process may run a batch for now: locked, checkpoint loaded, not sitting out a failure. */
  runnable(now: number): Member[] {
    return this.all.filter((m) => m.holding && m.loaded && m.failedUntil <= now);
  }

  /** Tries the locks this process lacks, at most once per lockRetryMs, and loads the checkpoint of each one taken. */
  async acquire(): Promise<void> {
    const missing = this.all.filter((m) => !m.holding);
    if (missing.length === 0 || Date.now() < this.nextLockAttempt) return;
    this.nextLockAttempt = Date.now() + (this.o.lockRetryMs ?? 1000);
    for (const m of missing) {
      if (!(await this.o.locks.tryLock(lockKey(m.target.name)))) continue;
      m.holding = true;
      await this.loadCheckpoint(m);
      this.o.log.debug({ projection: m.target.name, group: this.o.name }, 'projection runner active');
    }
  }

  async release(m: Member): Promise<void> {
    if (!m.holding) return;
    m.holding = false;
    m.loaded = false;
    await this.o.locks.unlock(lockKey(m.target.name));
  }

  async releaseAll(): Promise<void> {
    for (const m of this.all) await this.release(m);
  }

  /** Reads the member's checkpoint row, creating it (at the beginning, or the head) when there is none. */
  async loadCheckpoint(m: Member): Promise<void> {
    const { knex } = this.o;
    const name = m.target.name;
    let row = await knex<CheckpointRow>(CHECKPOINTS).where({ name }).first();
    if (!row) {
      const start = m.options.startAt === 'head' ? await this.o.store.headPosition() : null;
      await knex(CHECKPOINTS)
        .insert({ name, version: m.options.version ?? 1, ...positionColumns(start) })
        .onConflict('name')
        .ignore();
      row = await knex<CheckpointRow>(CHECKPOINTS).where({ name }).first();
    }
    m.checkpoint = positionOf(row);
    m.persisted = m.checkpoint;
    m.loaded = true;
  }

  /** A member whose apply failed sits out a while, doubling up to 30 s, so it cannot stall the others. */
  sitOut(m: Member, err: unknown): void {
    m.failures++;
    m.failedUntil = Date.now() + Math.min(30_000, 1000 * 2 ** (m.failures - 1));
    this.o.log.error({ err, projection: m.target.name, group: this.o.name }, 'projection batch failed; that projection retries later');
  }
}
