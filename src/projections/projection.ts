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
