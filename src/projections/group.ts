import { Knex } from 'knex';
import { Logger } from 'pino';
import { comparePositions, EventStore, Position, RecordedEvent } from '../eventstore/types';
import { CHECKPOINTS, positionColumns, positionOf, samePosition } from './checkpoints';
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
  /** After a batch that was not full, wait this long for more events before the next (default 0). */
  gatherMs?: number;
  /** Announce checkpoints on CHECKPOINT_CHANNEL (default true; reactors need not: nobody waits on them). */
  announce?: boolean;
}

export const CHECKPOINT_CHANNEL = 'projection_checkpoint';
/** Checkpoints that moved in memory only are written at least this often while events flow. */
const FLUSH_EVERY_MS = 1000;

/** The NOTIFY payload: every checkpoint that moved and where to, so listeners need no query. */
export const announcementOf = (moved: readonly (readonly [string, Position])[]): string =>
  JSON.stringify({ p: moved.map(([name, to]) => [name, to.commit.toString(), to.prepare.toString()]) });

/** The checkpoints an announcement names, or null for any other payload (a replay's, say). */
export function parseAnnouncement(payload: string): [string, Position][] | null {
  try {
    const moved = (JSON.parse(payload) as { p?: unknown }).p;
    if (!Array.isArray(moved)) return null;
    return (moved as [string, string, string][]).map(([name, commit, prepare]) => [name, { commit: BigInt(commit), prepare: BigInt(prepare) }]);
  } catch {
    return null;
  }
}

interface Member {
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
 * transaction, and only if its checkpoint row still holds the position this process last
 * wrote (checked by the statement that moves it, before commit); a second process holding none
 * of the locks stays idle; a member whose apply fails rolls the batch back and sits out for a
 * while, so it cannot stall the others.
 */
export class GroupRunner {
  private readonly members: Member[];
  private stopped = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private unsubscribe: (() => void) | null = null;
  private unsubscribeLost: (() => void) | null = null;
  private nextLockAttempt = 0;
  /** When checkpoints were last written. */
  private flushedAt = 0;
  /** When an append was last announced: until it is readable, look again soon. */
  private wokenAt = 0;
  /** Quick looks since that announcement (2, 4, 8, 16 ms), before falling back to polling. */
  private quickLooks = 0;
  /** The newest append the store told of, and the furthest this group has read: while the first is ahead, something is still to read. */
  private announced: Position | null = null;
  private readTo: Position | null = null;
  /** A wake-up waiting out the gather window. */
  private gathering: NodeJS.Timeout | null = null;
  private readonly batchSize: number;

  constructor(
    targets: readonly { target: RunnerTarget; options?: GroupMemberOptions }[],
    private readonly o: GroupOptions,
  ) {
    this.members = targets.map(({ target, options }) => ({
      target,
      options: options ?? {},
      checkpoint: null,
      persisted: null,
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
    this.unsubscribe =
      this.o.store.onAppend?.((appended) => {
        this.wokenAt = Date.now();
        this.quickLooks = 0;
        if (appended && (this.announced === null || comparePositions(appended, this.announced) > 0)) this.announced = appended;
        if (!this.o.gatherMs) return this.wake?.();
        // A group that gathers lets appends collect for its window before it looks: one read
        // for the lot, and by then the transactions that hid the first one have mostly ended
        // (every group looking at once after each append mostly found nothing yet).
        this.gathering ??= setTimeout(() => {
          this.gathering = null;
          this.wake?.();
        }, this.o.gatherMs);
      }) ?? null;
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
    if (this.gathering) clearTimeout(this.gathering);
    this.gathering = null;
    this.wake?.();
    await this.loop;
    this.loop = null;
    this.unsubscribe?.();
    this.unsubscribeLost?.();
    // Write down checkpoints that moved in memory only, so the next runner starts from them.
    const dirty = this.members.filter((m) => m.holding && m.loaded && !samePosition(m.checkpoint, m.persisted));
    if (dirty.length) await this.commit(dirty, null, []).catch((err) => this.o.log.warn({ err, group: this.o.name }, 'could not write checkpoints at stop'));
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
          // A short gather window: the appends of the next few milliseconds (a login's two,
          // concurrent commands) go into one batch and one transaction instead of one each.
          // Not cut short by an append's wake-up: those are what it waits for.
          if (n < this.batchSize && this.o.gatherMs) await new Promise((r) => setTimeout(r, this.o.gatherMs));
          // Caught up with every append announced: wait for the next instead of reading nothing.
          if (n < this.batchSize && !this.behind() && this.announced !== null) await this.pause(this.o.idlePollMs ?? 250);
          continue;
        }
        if (n < 0) {
          // Nothing to run: no lock held, or every member held is sitting out a failure.
          await this.pause(this.o.lockRetryMs ?? 1000);
          continue;
        }
        // Nothing readable, though an append was announced past what was read: an older
        // transaction (anywhere in the cluster: readers see only what committed below the oldest
        // running one) still hides it, and its commit sends no wake-up, so look again within
        // milliseconds. Otherwise poll slowly: the next append wakes the loop.
        idle = Math.min(idle + 1, 5);
        const quick = this.behind() && Date.now() - this.wokenAt < 1000 && this.quickLooks < 4;
        if (quick) this.quickLooks++;
        await this.pause(quick ? 2 ** this.quickLooks : Math.min(this.o.idlePollMs ?? 250, 5 * 2 ** idle));
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

  /** An announced append not read yet; when the store tells no positions, any recent wake-up counts. */
  private behind(): boolean {
    if (this.announced === null) return !this.o.gatherMs;
    return this.readTo === null || comparePositions(this.announced, this.readTo) > 0;
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
    m.persisted = m.checkpoint;
    m.loaded = true;
  }

  /**
   * One batch for the members this process runs: read once from the lowest of their
   * checkpoints; give each member the events past its own checkpoint that it handles, all in
   * one transaction that also moves the checkpoints. A batch no member handles opens no
   * transaction: the checkpoints move in memory and are announced (for read-your-writes in
   * other processes), and are written with the next transaction, within a second, or when the
   * log goes quiet. Returns the events read, or -1 when no member could run.
   */
  async runBatch(): Promise<number> {
    const now = Date.now();
    const active = this.members.filter((m) => m.holding && m.loaded && m.failedUntil <= now);
    if (active.length === 0) return -1;
    let from = active[0].checkpoint;
    for (const m of active) if (from !== null && (m.checkpoint === null || comparePositions(m.checkpoint, from) < 0)) from = m.checkpoint;
    const events = await this.o.store.readAll(from, this.batchSize);
    if (events.length === 0) {
      // Quiet: write down checkpoints that moved in memory only.
      if (active.some((m) => !samePosition(m.checkpoint, m.persisted))) await this.commit(active, null, []);
      return 0;
    }
    const last = events[events.length - 1].position;
    if (this.readTo === null || comparePositions(last, this.readTo) > 0) this.readTo = last;
    // Members already past this batch (it was read for one further behind) sit it out.
    const going = active.filter((m) => after(last, m.checkpoint));
    const work = new Map<Member, RecordedEvent[]>();
    for (const m of going) {
      const mine = handledBy(m, events);
      if (mine.length) work.set(m, mine);
    }
    if (work.size === 0 && now - this.flushedAt < FLUSH_EVERY_MS) {
      for (const m of going) m.checkpoint = last;
      if (this.o.announce !== false) await this.o.knex.raw('SELECT pg_notify(?, ?)', [CHECKPOINT_CHANNEL, announcementOf(going.map((m) => [m.target.name, last]))]);
      for (const m of going) this.o.onCheckpoint?.(m.target.name, last);
      return events.length;
    }
    await this.commit(going, last, [...work]);
    return events.length;
  }

  /**
   * One transaction: applies each member's events and writes the checkpoints (to `last`, or
   * where they stand in memory when null) with one statement that also announces them. That
   * statement writes a row only where it still holds what this process last wrote: a row
   * someone else moved (a replay swapped tables in, another process ran the member) rolls the
   * whole batch back and those members reload their checkpoint.
   */
  private async commit(members: Member[], last: Position | null, work: [Member, RecordedEvent[]][]): Promise<void> {
    const applied: [Member, RecordedEvent[]][] = [];
    let written: { moves: { m: Member; to: Position | null }[]; updates: { m: Member; to: Position | null }[]; flush: boolean };
    try {
      written = await this.o.knex.transaction(async (trx) => {
        for (const [m, events] of work) {
          try {
            await m.target.applyBatch(events, trx);
            applied.push([m, events]);
          } catch (err) {
            throw new MemberFailed(m, err);
          }
        }
        // Every member moves; rows are written for those that applied something, and for all of
        // them when a flush is due (the others' positions travel in the announcement).
        const flush = last === null || Date.now() - this.flushedAt >= FLUSH_EVERY_MS;
        const withWork = new Set(work.map(([m]) => m));
        const moves = members
          .map((m) => ({ m, to: last ?? m.checkpoint }))
          .filter((u) => u.to !== null && (!samePosition(u.to, u.m.checkpoint) || !samePosition(u.to, u.m.persisted)));
        const updates = moves.filter((u) => (flush || withWork.has(u.m)) && !samePosition(u.to, u.m.persisted));
        const announce = moves.length > 0 && this.o.announce !== false;
        if (updates.length || announce) {
          const rows = updates.map(({ m, to }) => ({ name: m.target.name, was: m.persisted, to }));
          const { rows: out } = await trx.raw(WRITE_CHECKPOINTS, [
            JSON.stringify(rows.map((r) => ({ name: r.name, ...pair('e', r.was), ...pair('t', r.to) }))),
            announce ? CHECKPOINT_CHANNEL : null,
            announce ? CHECKPOINT_CHANNEL : null,
            announce ? announcementOf(moves.map((u) => [u.m.target.name, u.to!])) : null,
          ]);
          const done = new Set<string>(out[0].written ?? []);
          const moved = updates.filter((u) => !done.has(u.m.target.name)).map((u) => u.m);
          if (moved.length) throw new CheckpointsMoved(moved);
        }
        return { moves, updates, flush };
      });
    } catch (err) {
      if (!(err instanceof CheckpointsMoved)) throw err;
      for (const m of err.members) await this.loadCheckpoint(m);
      return;
    }
    if (written.flush) this.flushedAt = Date.now();
    for (const [m, events] of applied) this.o.onCommitted?.(m.target.name, events);
    for (const { m, to } of written.updates) m.persisted = to;
    for (const { m, to } of written.moves) {
      m.checkpoint = to;
      m.failures = 0;
      this.o.onCheckpoint?.(m.target.name, to!);
    }
  }
}

/**
 * Moves checkpoint rows that still hold the expected position (`e…`) to the new one (`t…`),
 * returns the names written, and sends the announcement (delivered only if the transaction
 * commits). One round trip where a SELECT … FOR UPDATE, an UPDATE per position and a NOTIFY
 * took three or more.
 */
const WRITE_CHECKPOINTS = `
  WITH w AS (SELECT * FROM json_to_recordset(?::json) AS w(name text, ec bigint, ep bigint, tc bigint, tp bigint)),
  u AS (
    UPDATE ${CHECKPOINTS} c SET commit_pos = w.tc, prepare_pos = w.tp, updated_at = now()
    FROM w
    WHERE c.name = w.name AND c.commit_pos IS NOT DISTINCT FROM w.ec AND c.prepare_pos IS NOT DISTINCT FROM w.ep
    RETURNING c.name
  )
  SELECT (SELECT array_agg(name) FROM u) AS written, CASE WHEN ?::text IS NULL THEN NULL ELSE pg_notify(?::text, ?::text) END AS announced`;

const pair = (prefix: 'e' | 't', p: Position | null): Record<string, string | null> => ({
  [`${prefix}c`]: p ? p.commit.toString() : null,
  [`${prefix}p`]: p ? p.prepare.toString() : null,
});

class CheckpointsMoved extends Error {
  constructor(readonly members: Member[]) {
    super(`checkpoints moved by someone else: ${members.map((m) => m.target.name).join(', ')}`);
  }
}

function handledBy(m: Member, events: RecordedEvent[]): RecordedEvent[] {
  const out: RecordedEvent[] = [];
  for (const e of events) if (m.target.handles.has(e.type) && after(e.position, m.checkpoint)) out.push(e);
  return out;
}
