/**
 * The event store port. Both adapters (PostgreSQL, EventStoreDB) implement it and pass one
 * contract suite (tests/contract). Revisions are 0-based per stream; `no_stream` is "-1".
 */
export type Expected = 'any' | 'no_stream' | 'exists' | bigint;

/**
 * A global position, ordered lexicographically by (commit, prepare).
 * PostgreSQL: commit = writing transaction id (xid8), prepare = global sequence.
 * EventStoreDB: its own commit/prepare log positions.
 */
export interface Position {
  commit: bigint;
  prepare: bigint;
}

export type JsonObject = { [key: string]: unknown };

export interface EventMetadata {
  actorId?: string | null;
  correlationId?: string;
  causationId?: string;
  ip?: string | null;
  userAgent?: string | null;
  [key: string]: unknown;
}

export interface NewEvent<T extends string = string, D extends JsonObject = JsonObject> {
  /** UUID; generated when absent. Workers use it as the job id, so it must be stable per event. */
  id?: string;
  type: T;
  data: D;
  metadata?: EventMetadata;
}

export interface RecordedEvent<T extends string = string, D extends JsonObject = JsonObject> {
  id: string;
  type: T;
  streamId: string;
  revision: bigint;
  position: Position;
  data: D;
  metadata: EventMetadata;
  createdAt: Date;
}

export interface AppendResult {
  nextRevision: bigint;
  position: Position;
}

export interface EventStore {
  append(stream: string, events: NewEvent[], expected: Expected): Promise<AppendResult>;
  /** A stream in revision order, from `fromRevision` (default 0) on. */
  read(stream: string, fromRevision?: bigint): AsyncIterable<RecordedEvent>;
  /**
   * Optional: several streams at once, each from its revision on, in one round trip (each
   * list in revision order, in the order asked). Without it, callers read them one by one.
   */
  readTails?(reads: readonly { stream: string; fromRevision: bigint }[]): Promise<RecordedEvent[][]>;
  /** Events strictly after `after` in global order; never skips an event that commits later. */
  readAll(after: Position | null, batchSize: number): Promise<RecordedEvent[]>;
  /**
   * The events of these types appended at or after `since` (the store's clock), in global
   * order. Reads only the recent end of the log, so it costs the same however long the log is.
   */
  readRecent(since: Date, types: readonly string[]): Promise<RecordedEvent[]>;
  /**
   * Calls `listener` when something may have been appended (a hint; callers still poll), with
   * the position of the last event appended when the store tells it.
   */
  onAppend?(listener: (appended?: Position) => void): () => void;
  /** The position of the newest readable event, or null on an empty store. */
  headPosition(): Promise<Position | null>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class WrongExpectedVersionError extends Error {
  readonly code = 'WRONG_EXPECTED_VERSION';
  constructor(
    readonly stream: string,
    readonly expected: Expected,
    /** -1n when the stream does not exist. */
    readonly actual: bigint,
  ) {
    super(`Wrong expected version on ${stream}: expected ${String(expected)}, actual ${actual}`);
  }
}

const cmp = (x: bigint, y: bigint): number => (x === y ? 0 : x < y ? -1 : 1);

export const comparePositions = (a: Position, b: Position): number => cmp(a.commit, b.commit) || cmp(a.prepare, b.prepare);

export const positionToString = (p: Position): string => `${p.commit}/${p.prepare}`;
