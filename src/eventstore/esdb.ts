import {
  ANY,
  AllStreamResolvedEvent,
  AllStreamSubscription,
  AppendExpectedRevision,
  BACKWARDS,
  END,
  ErrorType,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  RecordedEvent as EsdbRecordedEvent,
  START,
  STREAM_EXISTS,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
  excludeSystemEvents,
  isCommandError,
  jsonEvent,
} from '@eventstore/db-client';
import {
  AppendResult,
  EventMetadata,
  EventStore,
  Expected,
  JsonObject,
  NewEvent,
  Position,
  RecordedEvent,
  WrongExpectedVersionError,
  comparePositions,
} from './types';
import { reconnectDelayMs } from './reconnect';

const toEsdbExpected = (expected: Expected): AppendExpectedRevision => {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'exists':
      return STREAM_EXISTS;
    default:
      return expected;
  }
};

const isJsonObject = (v: unknown): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/** System events ($stats, $metadata, link events `$>` ...) are the server's, not ours. */
const isSystemEvent = (e: EsdbRecordedEvent): boolean => e.type.startsWith('$');

const toRecorded = (e: EsdbRecordedEvent, position: Position): RecordedEvent => ({
  id: e.id,
  type: e.type,
  streamId: e.streamId,
  revision: e.revision,
  position,
  data: isJsonObject(e.data) ? e.data : {},
  metadata: isJsonObject(e.metadata) ? (e.metadata as EventMetadata) : {},
  createdAt: e.created,
});

/** The event of a resolved $all entry if it is one of ours (not a system event). */
const userEventOf = (resolved: AllStreamResolvedEvent): RecordedEvent | null => {
  const e = resolved.event;
  if (!e || isSystemEvent(e)) return null;
  return toRecorded(e, { commit: e.position.commit, prepare: e.position.prepare });
};

/**
 * The EventStoreDB adapter. Stream revisions are ESDB's own (0-based, -1 for no stream), and
 * global positions are its (commit, prepare) log positions, so both line up with the port.
 */
export class EventStoreDbEventStore implements EventStore {
  private subscription: AllStreamSubscription | null = null;
  private readonly listeners = new Set<(appended?: Position) => void>();
  private resubscribe: NodeJS.Timeout | null = null;
  private subscribeFailures = 0;

  constructor(private readonly client: EventStoreDBClient) {}

  static fromConnectionString(url: string): EventStoreDbEventStore {
    return new EventStoreDbEventStore(EventStoreDBClient.connectionString(url));
  }

  async append(stream: string, events: NewEvent[], expected: Expected): Promise<AppendResult> {
    if (events.length === 0) throw new Error('append needs at least one event');
    const data = events.map((e) => jsonEvent({ id: e.id, type: e.type, data: e.data, metadata: e.metadata ?? {} }));
    try {
      const result = await this.client.appendToStream(stream, data, { expectedRevision: toEsdbExpected(expected) });
      if (!result.position) throw new Error(`EventStoreDB returned no position for an append to ${stream}`);
      return { nextRevision: result.nextExpectedRevision, position: result.position };
    } catch (err) {
      if (err instanceof EsdbWrongExpectedVersionError) {
        const actual = err.actualVersion === NO_STREAM ? -1n : err.actualVersion;
        throw new WrongExpectedVersionError(stream, expected, actual);
      }
      throw err;
    }
  }

  async *read(stream: string, fromRevision = 0n): AsyncIterable<RecordedEvent> {
    const reading = this.client.readStream(stream, {
      direction: FORWARDS,
      fromRevision: fromRevision > 0n ? fromRevision : START,
      resolveLinkTos: false,
    });
    try {
      for await (const resolved of reading) {
        const e = resolved.event;
        if (!e) continue;
        if (!e.position) throw new Error(`EventStoreDB returned no position for ${stream}@${e.revision}`);
        yield toRecorded(e, e.position);
      }
    } catch (err) {
      if (err instanceof Error && isCommandError(err) && err.type === ErrorType.STREAM_NOT_FOUND) return;
      throw err;
    } finally {
      await reading.cancel().catch(() => undefined);
    }
  }

  async readAll(after: Position | null, batchSize: number): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    let from: Position | null = after;
    // ESDB starts a forward read at `from` inclusively and counts system events towards
    // maxCount, so page until the batch is full or the end of $all is reached.
    for (;;) {
      const maxCount = batchSize - out.length + 1;
      const reading = this.client.readAll({
        direction: FORWARDS,
        fromPosition: from ?? START,
        maxCount,
        resolveLinkTos: false,
      });
      let seen = 0;
      try {
        for await (const resolved of reading) {
          seen++;
          const e = resolved.event;
          if (!e) continue;
          from = e.position;
          if (after && comparePositions(e.position, after) <= 0) continue;
          const last = out[out.length - 1];
          if (last && comparePositions(e.position, last.position) <= 0) continue;
          const ours = userEventOf(resolved);
          if (ours) out.push(ours);
          if (out.length >= batchSize) break;
        }
      } finally {
        await reading.cancel().catch(() => undefined);
      }
      if (out.length >= batchSize || seen < maxCount) return out;
    }
  }

  /**
   * $all read backwards from the end until an event older than `since` (commit order is time
   * order in EventStoreDB): the window is read, never the rest of the log. The Node client
   * cannot filter a read by type, so the window's other events are skipped here.
   */
  async readRecent(since: Date, types: readonly string[]): Promise<RecordedEvent[]> {
    const wanted = new Set(types);
    const out: RecordedEvent[] = [];
    const reading = this.client.readAll({ direction: BACKWARDS, fromPosition: END, resolveLinkTos: false });
    try {
      for await (const resolved of reading) {
        const ours = userEventOf(resolved);
        if (!ours) continue;
        if (ours.createdAt < since) break;
        if (wanted.has(ours.type)) out.push(ours);
      }
    } finally {
      await reading.cancel().catch(() => undefined);
    }
    return out.reverse();
  }

  async headPosition(): Promise<Position | null> {
    const reading = this.client.readAll({ direction: BACKWARDS, fromPosition: END, resolveLinkTos: false });
    try {
      for await (const resolved of reading) {
        const ours = userEventOf(resolved);
        if (ours) return ours.position;
      }
      return null;
    } finally {
      await reading.cancel().catch(() => undefined);
    }
  }

  /**
   * A live subscription to $all (system events excluded) that wakes tailing readers. A
   * subscription that fails (the server restarted, the connection dropped) is started again,
   * with backoff, for as long as anyone listens; readers are woken each time, since what was
   * appended meanwhile was never announced.
   */
  onAppend(listener: (appended?: Position) => void): () => void {
    this.listeners.add(listener);
    if (!this.subscription && !this.resubscribe) this.subscribe();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) void this.stopSubscription();
    };
  }

  private subscribe(): void {
    const sub = this.client.subscribeToAll({ fromPosition: END, resolveLinkTos: false, filter: excludeSystemEvents() });
    const again = this.subscribeFailures > 0;
    sub.on('confirmation', () => {
      this.subscribeFailures = 0;
      // Back after a failure: what was appended meanwhile was never announced.
      if (again) this.listeners.forEach((l) => l());
    });
    sub.on('data', (resolved) => {
      const p = resolved.event?.position;
      const appended = p ? { commit: p.commit, prepare: p.prepare } : undefined;
      this.listeners.forEach((l) => l(appended));
    });
    sub.on('error', () => {
      if (this.subscription !== sub) return;
      this.subscription = null;
      if (this.listeners.size === 0) return;
      this.listeners.forEach((l) => l());
      this.resubscribe = setTimeout(() => {
        this.resubscribe = null;
        if (this.listeners.size > 0 && !this.subscription) this.subscribe();
      }, reconnectDelayMs(this.subscribeFailures++));
      this.resubscribe.unref();
    });
    this.subscription = sub;
  }

  private async stopSubscription(): Promise<void> {
    if (this.resubscribe) clearTimeout(this.resubscribe);
    this.resubscribe = null;
    const sub = this.subscription;
    this.subscription = null;
    if (sub) await sub.unsubscribe().catch(() => undefined);
  }

  async ping(): Promise<void> {
    const reading = this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 });
    try {
      await reading[Symbol.asyncIterator]().next();
    } finally {
      await reading.cancel().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.stopSubscription();
    await this.client.dispose();
  }
}
