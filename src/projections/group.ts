import { Knex } from 'knex';
import { Logger } from 'pino';
import { comparePositions, EventStore, Position, RecordedEvent } from '../eventstore/types';
import { CHECKPOINTS, CheckpointRow, positionColumns, positionOf, samePosition } from './checkpoints';
import { AdvisoryLocks } from './locks';
import { RunnerTarget } from './runner';

export interface GroupMemberOptions {
  /** Where a member with no checkpoint row starts: the beginning, or the head (reactors). */
  startAt?: 'beginning' | 'head';
  version?: number;
}

export interface GroupOptions {
  knex: Knex;
  store: EventStore;
  locks: AdvisoryLocks;
  log: Logger;
  /** A name for logs. */
  name: string;
  batchSize?: number;
  idlePollMs?: number;
  lockRetryMs?: number;
  onCheckpoint?: (name: string, position: Position) => void;
  /** After the batch committed, before its checkpoint is reported: the events a member applied. */
  onCommitted?: (name: string, events: RecordedEvent[]) => void;
}

interface Member {
  target: RunnerTarget;
  options: GroupMemberOptions;
  checkpoint: Position | null;
  loaded: boolean;
  holding: boolean;
  /** After a failed apply: left out of batches until then (ms since epoch), doubling up to 30 s. */
  failedUntil: number;
  failures: number;
}

const lockKey = (name: string): string => `projection:${name}`;
const after = (p: Position, checkpoint: Position | null): boolean => checkpoint === null || comparePositions(p, checkpoint) > 0;

class MemberFailed extends Error {
  constructor(
    readonly member: Member,
    override readonly cause: unknown,
  ) {
    super(`${member.target.name} failed`);
  }
}

/**
 * Tails the log once for several targets: one read and one transaction per batch, whatever the
 * number of projections (a runner per projection re-read the log and committed a transaction
 * each, even for batches it had nothing to do with).
 *
 * Each member keeps its own checkpoint row and advisory lock, so the guarantees are those of a
 * lone runner: a member's events are applied, and its checkpoint moved, in the same
 * transaction, and only if its checkpoint row (locked FOR UPDATE) still holds the position the
 * batch was read from; a second process holding none of the locks stays idle; a member whose
 * apply fails rolls the batch back and sits out for a while, so it cannot stall the others.
 */
export class GroupRunner {
  private readonly members: Member[];
  private stopped = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private unsubscribe: (() => void) | null = null;
  private unsubscribeLost: (() => void) | null = null;
  private nextLockAttempt = 0;
  private readonly batchSize: number;

  constructor(
    targets: readonly { target: RunnerTarget; options?: GroupMemberOptions }[],
    private readonly o: GroupOptions,
  ) {
    this.members = targets.map(({ target, options }) => ({
      target,
      options: options ?? {},
      checkpoint: null,
      loaded: false,
      holding: false,
      failedUntil: 0,
      failures: 0,
    }));
    this.batchSize = o.batchSize ?? 500;
  }

  get status(): { name: string; active: boolean; position: Position | null }[] {
    return this.members.map((m) => ({ name: m.target.name, active: m.holding, position: m.checkpoint }));
  }

  start(): void {
    if (this.loop) return;
    this.stopped = false;
    this.unsubscribe = this.o.store.onAppend?.(() => this.wake?.()) ?? null;
    // Losing the lock connection loses every lock; the checkpoint guard keeps batches correct.
    this.unsubscribeLost = this.o.locks.onLost(() => {
      for (const m of this.members) m.holding = false;
      this.nextLockAttempt = 0;
    });
    this.loop = this.run();
  }

  /** Finishes the batch in hand, then releases the locks. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    this.loop = null;
    this.unsubscribe?.();
    this.unsubscribeLost?.();
    for (const m of this.members) await this.release(m);
  }

  private async run(): Promise<void> {
    let idle = 0;
    while (!this.stopped) {
      try {
        await this.acquireLocks();
        const n = await this.runBatch();
        if (n > 0) {
          idle = 0;
          continue;
        }
        if (n < 0) {
          // Nothing to run: no lock held, or every member held is sitting out a failure.
          await this.pause(this.o.lockRetryMs ?? 1000);
          continue;
        }
        // Woken but nothing readable yet (an older transaction still open): back off gently.
        idle = Math.min(idle + 1, 5);
        await this.pause(Math.min(this.o.idlePollMs ?? 250, 5 * 2 ** idle));
      } catch (err) {
        if (err instanceof MemberFailed) {
          const m = err.member;
          m.failures++;
          m.failedUntil = Date.now() + Math.min(30_000, 1000 * 2 ** (m.failures - 1));
          this.o.log.error({ err: err.cause, projection: m.target.name, group: this.o.name }, 'projection batch failed; that projection retries later');
          continue;
        }
        this.o.log.error({ err, group: this.o.name }, 'projection group batch failed; retrying');
        for (const m of this.members) await this.release(m);
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

  private async acquireLocks(): Promise<void> {
    const missing = this.members.filter((m) => !m.holding);
    if (missing.length === 0 || Date.now() < this.nextLockAttempt) return;
    this.nextLockAttempt = Date.now() + (this.o.lockRetryMs ?? 1000);
    for (const m of missing) {
      if (!(await this.o.locks.tryLock(lockKey(m.target.name)))) continue;
      m.holding = true;
      await this.loadCheckpoint(m);
      this.o.log.debug({ projection: m.target.name, group: this.o.name }, 'projection runner active');
    }
  }

  private async release(m: Member): Promise<void> {
    if (!m.holding) return;
    m.holding = false;
    m.loaded = false;
    await this.o.locks.unlock(lockKey(m.target.name));
  }

  private async loadCheckpoint(m: Member): Promise<void> {
    const { knex } = this.o;
    const name = m.target.name;
    let row = await knex(CHECKPOINTS).where({ name }).first();
    if (!row) {
      const start = m.options.startAt === 'head' ? await this.o.store.headPosition() : null;
      await knex(CHECKPOINTS)
        .insert({ name, version: m.options.version ?? 1, ...positionColumns(start) })
        .onConflict('name')
        .ignore();
      row = await knex(CHECKPOINTS).where({ name }).first();
    }
    m.checkpoint = positionOf(row);
    m.loaded = true;
  }

  /**
   * One batch for the members this process runs: read once from the lowest of their
   * checkpoints; in one transaction, give each member the events past its own checkpoint that it
   * handles, and move every checkpoint to the end of the batch. Returns the events read, or -1
   * when no member could run.
   */
  async runBatch(): Promise<number> {
    const now = Date.now();
    const active = this.members.filter((m) => m.holding && m.loaded && m.failedUntil <= now);
    if (active.length === 0) return -1;
    let from = active[0].checkpoint;
    for (const m of active) if (from !== null && (m.checkpoint === null || comparePositions(m.checkpoint, from) < 0)) from = m.checkpoint;
    const events = await this.o.store.readAll(from, this.batchSize);
    if (events.length === 0) return 0;
    const last = events[events.length - 1].position;
    const moved: Member[] = [];
    const applied = new Map<Member, RecordedEvent[]>();
    const advanced = await this.o.knex.transaction(async (trx) => {
      const names = active.map((m) => m.target.name);
      const rows: CheckpointRow[] = await trx(CHECKPOINTS).whereIn('name', names).forUpdate().select('name', 'commit_pos', 'prepare_pos');
      const byName = new Map(rows.map((r) => [r.name, r]));
      const going: Member[] = [];
      for (const m of active) {
        const row = byName.get(m.target.name);
        // Moved by someone else (a replay swapped tables in, another process ran it): reload.
        if (!row || !samePosition(positionOf(row), m.checkpoint)) moved.push(m);
        // Already past this batch (it was read for a member further behind).
        else if (after(last, m.checkpoint)) going.push(m);
      }
      for (const m of going) {
        const mine = handledBy(m, events);
        if (mine.length === 0) continue;
        try {
          await m.target.applyBatch(mine, trx);
          applied.set(m, mine);
        } catch (err) {
          throw new MemberFailed(m, err);
        }
      }
      if (going.length) {
        const c = positionColumns(last);
        await trx(CHECKPOINTS)
          .whereIn(
            'name',
            going.map((m) => m.target.name),
          )
          .update({ ...c, updated_at: trx.fn.now() });
        await trx.raw('SELECT pg_notify(?, ?)', ['projection_checkpoint', this.o.name]);
      }
      return going;
    });
    for (const [m, mine] of applied) this.o.onCommitted?.(m.target.name, mine);
    for (const m of advanced) {
      m.checkpoint = last;
      m.failures = 0;
      this.o.onCheckpoint?.(m.target.name, last);
    }
    for (const m of moved) await this.loadCheckpoint(m);
    return events.length;
  }
}

function handledBy(m: Member, events: RecordedEvent[]): RecordedEvent[] {
  const out: RecordedEvent[] = [];
  for (const e of events) if (m.target.handles.has(e.type) && after(e.position, m.checkpoint)) out.push(e);
  return out;
}
