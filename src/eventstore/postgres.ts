import { randomUUID } from 'node:crypto';
import { Client, Pool, PoolConfig } from 'pg';
import { eventStoreSchemaSql } from './postgres-schema';
import { reconnectDelayMs } from './reconnect';
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
} from './types';

interface EventRow {
  global_position: string;
  transaction_id: string;
  stream_id: string;
  stream_revision: string;
  event_id: string;
  event_type: string;
  data: JsonObject;
  metadata: EventMetadata;
  created_at: Date;
}

const COLUMNS = 'global_position, transaction_id, stream_id, stream_revision, event_id, event_type, data, metadata, created_at';

/** The same columns of the `es_events e` of a join. */
const E_COLUMNS = COLUMNS.split(', ')
  .map((c) => `e.${c}`)
  .join(', ');

const toRecorded = (r: EventRow): RecordedEvent => ({
  id: r.event_id,
  type: r.event_type,
  streamId: r.stream_id,
  revision: BigInt(r.stream_revision),
  position: { commit: BigInt(r.transaction_id), prepare: BigInt(r.global_position) },
  data: r.data,
  metadata: r.metadata,
  createdAt: r.created_at,
});

/** The NOTIFY payload of es_append: "<transaction id>/<global position>" of its last event. */
const parseAppended = (payload: string | undefined): Position | undefined => {
  const m = /^(\d+)\/(\d+)$/.exec(payload ?? '');
  return m ? { commit: BigInt(m[1]), prepare: BigInt(m[2]) } : undefined;
};

const modeOf = (expected: Expected): [string, string | null] =>
  typeof expected === 'bigint' ? ['revision', expected.toString()] : [expected, null];

export class PostgresEventStore implements EventStore {
  private listener: Client | null = null;
  private readonly listeners = new Set<(appended?: Position) => void>();
  /** The next attempt to LISTEN again after the connection was lost. */
  private relisten: NodeJS.Timeout | null = null;
  private listenFailures = 0;
  private lostOnce = false;
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly ownsPool = false,
  ) {}

  static fromConfig(config: PoolConfig): PostgresEventStore {
    const pool = new Pool(config);
    // An idle connection that dies (a server restart, a terminated backend) leaves the pool on
    // its own; without a listener its 'error' event would end the process.
    pool.on('error', () => undefined);
    return new PostgresEventStore(pool, true);
  }

  async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      // Serialise concurrent start-ups: CREATE OR REPLACE FUNCTION races with itself.
      await client.query('SELECT pg_advisory_lock(7245001)');
      await client.query(eventStoreSchemaSql);
    } finally {
      await client.query('SELECT pg_advisory_unlock(7245001)').catch(() => undefined);
      client.release();
    }
  }

  async append(stream: string, events: NewEvent[], expected: Expected): Promise<AppendResult> {
    if (events.length === 0) throw new Error('append needs at least one event');
    const [mode, rev] = modeOf(expected);
    const { rows } = await this.pool.query<{ ok: boolean; actual: string; tx: string | null; last_position: string | null }>(
      'SELECT * FROM es_append($1, $2, $3, $4::uuid[], $5::text[], $6::jsonb[], $7::jsonb[])',
      [
        stream,
        mode,
        rev,
        events.map((e) => e.id ?? randomUUID()),
        events.map((e) => e.type),
        events.map((e) => JSON.stringify(e.data)),
        events.map((e) => JSON.stringify(e.metadata ?? {})),
      ],
    );
    const r = rows[0];
    if (!r.ok) throw new WrongExpectedVersionError(stream, expected, BigInt(r.actual));
    return {
      nextRevision: BigInt(r.actual),
      position: { commit: BigInt(r.tx as string), prepare: BigInt(r.last_position as string) },
    };
  }

  async *read(stream: string, fromRevision = 0n): AsyncIterable<RecordedEvent> {
    const pageSize = 1000;
    let from = fromRevision;
    for (;;) {
      const { rows } = await this.pool.query<EventRow>(
        `SELECT ${COLUMNS} FROM es_events WHERE stream_id = $1 AND stream_revision >= $2
         ORDER BY stream_revision LIMIT $3`,
        [stream, from.toString(), pageSize],
      );
      for (const row of rows) yield toRecorded(row);
      if (rows.length < pageSize) return;
      from = BigInt(rows[rows.length - 1].stream_revision) + 1n;
    }
  }

  async readTails(reads: readonly { stream: string; fromRevision: bigint }[]): Promise<RecordedEvent[][]> {
    const { rows } = await this.pool.query<EventRow & { i: string }>(
      `SELECT r.i, ${E_COLUMNS}
         FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS r(stream_id, from_revision, i)
         JOIN es_events e ON e.stream_id = r.stream_id AND e.stream_revision >= r.from_revision
        ORDER BY r.i, e.stream_revision`,
      [reads.map((r) => r.stream), reads.map((r) => r.fromRevision.toString())],
    );
    const out: RecordedEvent[][] = reads.map(() => []);
    for (const row of rows) out[Number(row.i) - 1].push(toRecorded(row));
    return out;
  }

  async readAll(after: Position | null, batchSize: number): Promise<RecordedEvent[]> {
    const { rows } = await this.pool.query<EventRow>(
      `SELECT ${COLUMNS} FROM es_events
       WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint)
         AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
       ORDER BY transaction_id, global_position
       LIMIT $3`,
      [(after?.commit ?? 0n).toString(), (after?.prepare ?? 0n).toString(), batchSize],
    );
    return rows.map(toRecorded);
  }

  /** One index range per type (es_events_type_created_at): the rows asked for, nothing older. */
  async readRecent(since: Date, types: readonly string[]): Promise<RecordedEvent[]> {
    const { rows } = await this.pool.query<EventRow>(
      `SELECT ${COLUMNS} FROM es_events
       WHERE event_type = ANY($1::text[]) AND created_at >= $2
       ORDER BY transaction_id, global_position`,
      [types, since],
    );
    return rows.map(toRecorded);
  }

  async headPosition(): Promise<Position | null> {
    const { rows } = await this.pool.query<{ transaction_id: string; global_position: string }>(
      `SELECT transaction_id, global_position FROM es_events
       WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
       ORDER BY transaction_id DESC, global_position DESC LIMIT 1`,
    );
    return rows[0] ? { commit: BigInt(rows[0].transaction_id), prepare: BigInt(rows[0].global_position) } : null;
  }

  /**
   * LISTEN on a dedicated connection; a hint that lets tailing readers wake without polling.
   * A lost connection (a terminated backend, a server restart) is opened again, with backoff,
   * for as long as anyone listens; listeners are woken when it is lost and when it is back,
   * since what was appended in between was never announced.
   */
  onAppend(listener: (appended?: Position) => void): () => void {
    this.listeners.add(listener);
    if (!this.listener && !this.relisten) void this.listen();
    return () => this.listeners.delete(listener);
  }

  private wakeAll(): void {
    this.listeners.forEach((l) => l());
  }

  private async listen(): Promise<void> {
    const opts = (this.pool as unknown as { options: PoolConfig }).options;
    const client = new Client(opts);
    this.listener = client;
    let lost = false;
    const onLost = () => {
      if (lost) return;
      lost = true;
      if (this.listener === client) this.listener = null;
      this.lostOnce = true;
      void client.end().catch(() => undefined);
      if (this.closed || this.listeners.size === 0) return;
      this.wakeAll();
      this.relisten = setTimeout(() => {
        this.relisten = null;
        void this.listen();
      }, reconnectDelayMs(this.listenFailures++));
      this.relisten.unref();
    };
    client.on('notification', (m) => {
      const appended = parseAppended(m.payload);
      this.listeners.forEach((l) => l(appended));
    });
    client.on('error', onLost);
    client.on('end', onLost);
    try {
      await client.connect();
      await client.query('LISTEN es_appended');
    } catch {
      onLost();
      return;
    }
    if (lost) return;
    // Back after a loss: what was appended meanwhile was never announced. (Not on the first
    // connection: nothing was listening before it.)
    if (this.lostOnce) this.wakeAll();
    this.listenFailures = 0;
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.relisten) clearTimeout(this.relisten);
    const l = this.listener;
    this.listener = null;
    this.listeners.clear();
    if (l) await l.end().catch(() => undefined);
    if (this.ownsPool) await this.pool.end();
  }
}
