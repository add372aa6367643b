import { Knex } from 'knex';
import { EventOf, eventsOf, EventType, Recorded } from '../events/registry';
import { RecordedEvent } from '../eventstore/types';

/**
 * A read model as it is written: pure handlers over a transaction, typed by the events it lists
 * in `handles` (a type that does not exist, or a case for one it does not list, fails to
 * compile); the runtime owns checkpoints.
 * Tables are created with unqualified names: the runtime points search_path at the live schema,
 * or at a scratch schema while a replay builds new tables.
 */
export interface ProjectionDefinition<T extends EventType> {
  name: string;
  /** Bump to rebuild: a stored version that differs triggers a replay at start. */
  version: number;
  tables: readonly string[];
  setup(db: Knex | Knex.Transaction): Promise<void>;
  handles: readonly T[];
  apply(event: Recorded<EventOf<T>>, trx: Knex.Transaction): Promise<void>;
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
  applyBatch?(events: Recorded<EventOf<T>>[], trx: Knex.Transaction): Promise<void>;
}

/**
 * A read model as the runtime drives it: it is given the log's events as they come and applies
 * those it handles (through applyBatch when the definition has one), ignoring the rest.
 */
export interface Projection extends Omit<ProjectionDefinition<EventType>, 'handles' | 'apply' | 'applyBatch'> {
  handles: readonly EventType[];
  apply(event: RecordedEvent, trx: Knex.Transaction): Promise<void>;
  applyBatch(events: readonly RecordedEvent[], trx: Knex.Transaction): Promise<void>;
}

export function projection<const T extends EventType>(definition: ProjectionDefinition<T>): Projection {
  const handled = eventsOf(definition.handles);
  return {
    ...definition,
    apply: (event, trx) => (handled(event) ? definition.apply(event, trx) : Promise.resolve()),
    async applyBatch(events, trx) {
      const mine = events.filter(handled);
      if (mine.length === 0) return;
      if (definition.applyBatch) return definition.applyBatch(mine, trx);
      for (const e of mine) await definition.apply(e, trx);
    },
  };
}

/** A batch cut into runs of consecutive events of one type, in order: a run can often be written by one statement. */
export function runsOf<E extends { type: string }>(events: readonly E[]): E[][] {
  const runs: E[][] = [];
  for (const e of events) {
    const run = runs[runs.length - 1];
    if (run?.[0].type === e.type) run.push(e);
    else runs.push([e]);
  }
  return runs;
}

/** Whether a run holds events of this type only (runsOf's runs do: this tells the compiler). */
export const isRunOf = <E extends { type: string }, T extends E['type']>(run: readonly E[], type: T): run is Extract<E, { type: T }>[] =>
  run.every((e) => e.type === type);

/**
 * A reactor turns events into side effects (jobs). It runs on the same runtime but owns no
 * tables, is never replayed, and a new one starts at the head of the log, not its beginning.
 */
export interface ReactorDefinition<T extends EventType> {
  name: string;
  handles: readonly T[];
  react(event: Recorded<EventOf<T>>): Promise<void>;
}

/** A reactor as the runtime drives it: given the log's events, it reacts to those it handles. */
export interface Reactor {
  name: string;
  handles: readonly EventType[];
  react(event: RecordedEvent): Promise<void>;
}

export function reactor<const T extends EventType>(definition: ReactorDefinition<T>): Reactor {
  const handled = eventsOf(definition.handles);
  return {
    name: definition.name,
    handles: definition.handles,
    react: (event) => (handled(event) ? definition.react(event) : Promise.resolve()),
  };
}

/** A projection as the runner drives it. */
export const asRunnerTarget = (p: Projection) => ({
  name: p.name,
  handles: new Set<string>(p.handles),
  applyBatch: (events: RecordedEvent[], trx: Knex.Transaction) => p.applyBatch(events, trx),
});
