import { Knex } from 'knex';
import { RecordedEvent } from '../eventstore/types';

/**
 * A read model: pure handlers over a transaction; the runtime owns checkpoints.
 * Tables are created with unqualified names: the runtime points search_path at the live schema,
 * or at a scratch schema while a replay builds new tables.
 */
export interface Projection {
  name: string;
  /** Bump to rebuild: a stored version that differs triggers a replay at start. */
  version: number;
  tables: readonly string[];
  setup(db: Knex | Knex.Transaction): Promise<void>;
  handles: readonly string[];
  apply(event: RecordedEvent, trx: Knex.Transaction): Promise<void>;
  /**
   * Projections of one group share a log reader and a transaction per batch. The default group
   * holds what requests wait on (read-your-writes); a heavy after-the-fact projection (the audit
   * log) runs in its own so those waits do not include its writes.
   */
  group?: string;
  /**
   * Non-unique indexes the projection reads from while it is applying events (a replay builds
   * every other non-unique index once at the end instead of updating it row by row).
   */
  readIndexes?: readonly string[];
  /** Optional: in the transaction that swaps a replay's new tables in (e.g. to tell caches of the old rows). */
  onReplaced?(trx: Knex.Transaction): Promise<unknown>;
  /** Optional: the handled events of one batch at once, in log order (e.g. one multi-row insert). */
  applyBatch?(events: RecordedEvent[], trx: Knex.Transaction): Promise<void>;
}

/** A batch cut into runs of consecutive events with the same key (by default their type), in order. */
export function runsOf(events: readonly RecordedEvent[], keyOf: (e: RecordedEvent) => string = (e) => e.type): RecordedEvent[][] {
  const runs: RecordedEvent[][] = [];
  let key: string | null = null;
  for (const e of events) {
    const k = keyOf(e);
    if (k === key) runs[runs.length - 1].push(e);
    else runs.push([e]);
    key = k;
  }
  return runs;
}

/** Applies a batch's handled events, through applyBatch when the projection has one. */
export async function applyEvents(p: Pick<Projection, 'apply' | 'applyBatch' | 'handles'>, events: RecordedEvent[], trx: Knex.Transaction): Promise<void> {
  const handled = events.filter((e) => p.handles.includes(e.type));
  if (handled.length === 0) return;
  if (p.applyBatch) return p.applyBatch(handled, trx);
  for (const e of handled) await p.apply(e, trx);
}

/**
 * A reactor turns events into side effects (jobs). It runs on the same runtime but owns no
 * tables, is never replayed, and a new one starts at the head of the log, not its beginning.
 */
export interface Reactor {
  name: string;
  handles: readonly string[];
  react(event: RecordedEvent): Promise<void>;
}

/** A projection as the runner drives it. */
export const asRunnerTarget = (p: Projection) => ({
  name: p.name,
  handles: new Set(p.handles),
  applyBatch: (events: RecordedEvent[], trx: Knex.Transaction) => applyEvents(p, events, trx),
});
