import { Knex } from 'knex';
import { Logger } from 'pino';
import { comparePositions, EventStore, Position, RecordedEvent } from '../eventstore/types';
import { samePosition } from './checkpoints';
import { announcementOf, CHECKPOINT_CHANNEL, CheckpointMove, writeCheckpoints } from './group-checkpoints';
import { GroupMembers, Member } from './group-members';

export interface BatchOptions {
  knex: Knex;
  store: EventStore;
  log: Logger;
  /** The group's name, for logs. */
  name: string;
  batchSize: number;
  /** Announce checkpoints on CHECKPOINT_CHANNEL (default true; reactors need not: nobody waits on them). */
  announce?: boolean;
  onCheckpoint?: (name: string, position: Position) => void;
  /** After the batch committed, before its checkpoint is reported: the events a member applied. */
  onCommitted?: (name: string, events: RecordedEvent[]) => void;
  /** The furthest position a batch read. */
  onRead?: (upTo: Position) => void;
}

/** Checkpoints that moved in memory only are written at least this often while events flow. */
const FLUSH_EVERY_MS = 1000;

const after = (p: Position, checkpoint: Position | null): boolean => checkpoint === null || comparePositions(p, checkpoint) > 0;

/** A member's apply failed: the batch rolls back and that member sits out a while. */
export class MemberFailed extends Error {
  constructor(
    readonly member: Member,
    override readonly cause: unknown,
  ) {
    super(`${member.target.name} failed`);
  }
}

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

/** Reads a batch for a group's members and applies it, with their checkpoints, in one transaction. */
export class Batches {
  /** When checkpoints were last written. */
  private flushedAt = 0;

  constructor(
    private readonly members: GroupMembers,
    private readonly o: BatchOptions,
  ) {}

  /**
   * One batch for the members this process runs: read once from the lowest of their
   * checkpoints; give each member the events past its own checkpoint that it handles, all in
   * one transaction that also moves the checkpoints. A batch no member handles opens no
   * transaction: the checkpoints move in memory and are announced (for read-your-writes in
   * other processes), and are written with the next transaction, within a second, or when the
   * log goes quiet. Returns the events read, or -1 when no member could run.
   */
  async run(): Promise<number> {
    const now = Date.now();
    const active = this.members.runnable(now);
    if (active.length === 0) return -1;
    let from = active[0].checkpoint;
    for (const m of active) if (from !== null && (m.checkpoint === null || comparePositions(m.checkpoint, from) < 0)) from = m.checkpoint;
    const events = await this.o.store.readAll(from, this.o.batchSize);
    if (events.length === 0) {
      // Quiet: write down checkpoints that moved in memory only.
      if (active.some((m) => !samePosition(m.checkpoint, m.persisted))) await this.commit(active, null, []);
      return 0;
    }
    const last = events[events.length - 1].position;
    this.o.onRead?.(last);
    // Members already past this batch (it was read for one further behind) sit it out.
    const going = active.filter((m) => after(last, m.checkpoint));
    const work = new Map<Member, RecordedEvent[]>();
    for (const m of going) {
      const mine = handledBy(m, events);
      if (mine.length) work.set(m, mine);
    }
    if (work.size === 0 && now - this.flushedAt < FLUSH_EVERY_MS) {
      for (const m of going) m.checkpoint = last;
      if (this.o.announce !== false)
        await this.o.knex.raw('SELECT pg_notify(?, ?)', [CHECKPOINT_CHANNEL, announcementOf(going.map((m) => [m.target.name, last]))]);
      for (const m of going) this.o.onCheckpoint?.(m.target.name, last);
      return events.length;
    }
    await this.commit(going, last, [...work]);
    return events.length;
  }

  /** At stop: writes down checkpoints that moved in memory only, so the next runner starts from them. */
  async flush(): Promise<void> {
    const dirty = this.members.all.filter((m) => m.holding && m.loaded && !samePosition(m.checkpoint, m.persisted));
    if (dirty.length)
      await this.commit(dirty, null, []).catch((err) =>
        this.o.log.warn({ err, group: this.o.name }, 'could not write checkpoints at stop'),
      );
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
          const rows: CheckpointMove[] = updates.map(({ m, to }) => ({ name: m.target.name, was: m.persisted, to }));
          const done = await writeCheckpoints(trx, rows, announce ? announcementOf(moves.map((u) => [u.m.target.name, u.to!])) : null);
          const moved = updates.filter((u) => !done.has(u.m.target.name)).map((u) => u.m);
          if (moved.length) throw new CheckpointsMoved(moved);
        }
        return { moves, updates, flush };
      });
    } catch (err) {
      if (!(err instanceof CheckpointsMoved)) throw err;
      for (const m of err.members) await this.members.loadCheckpoint(m);
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
