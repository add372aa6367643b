import { Knex } from 'knex';
import { Client } from 'pg';
import { Logger } from 'pino';
import { reconnectDelayMs } from '../eventstore/reconnect';
import { comparePositions, Position } from '../eventstore/types';
import { positionOf, readCheckpoints } from './checkpoints';
import { CHECKPOINT_CHANNEL, parseAnnouncement } from './group-checkpoints';

interface Waiting {
  position: Position;
  names: readonly string[];
  resolve: (ok: boolean) => void;
  timer: NodeJS.Timeout;
}

/**
 * Read-your-writes: resolves when every named projection has checkpointed at or past a
 * position. Fed directly by in-process runners and, across processes, by NOTIFY from the
 * projector's batch transactions (with a slow poll as a safety net).
 */
export class CheckpointWaiter {
  private readonly positions = new Map<string, Position | null>();
  private readonly waiting = new Set<Waiting>();
  private listener: Client | null = null;
  private poll: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;
  private readonly channels = new Map<string, { handler: (payload: string) => void; onLive: (live: boolean) => void }>();
  private reconnect: NodeJS.Timeout | null = null;
  /** Failed attempts in a row to connect the listener again (the backoff grows with them). */
  private failures = 0;
  private stopped = false;

  constructor(
    private readonly knex: Knex,
    private readonly connectionString: string,
    readonly names: readonly string[],
    private readonly log: Logger,
  ) {
    for (const n of names) this.positions.set(n, null);
  }

  async start(): Promise<void> {
    await this.refresh();
    await this.connectListener();
    this.poll = setInterval(() => {
      if (this.waiting.size > 0) void this.refresh();
    }, 200);
    this.poll.unref();
  }

  /**
   * Delivers NOTIFY payloads of another channel on the same connection as the checkpoint
   * notifications, so they arrive in commit order with them (a cache evicted by one is evicted
   * before a waiting request resumes). `onLive(false)` whenever the connection is down.
   */
  listen(channel: string, handler: (payload: string) => void, onLive: (live: boolean) => void): void {
    this.channels.set(channel, { handler, onLive });
    onLive(false);
    if (this.listener) {
      void this.listener
        .query(`LISTEN ${channel}`)
        .then(() => onLive(true))
        .catch((err) => this.log.warn({ err, channel }, 'LISTEN failed'));
    }
  }

  private async connectListener(): Promise<void> {
    const client = new Client({ connectionString: this.connectionString });
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (this.listener === client) this.listener = null;
      for (const c of this.channels.values()) c.onLive(false);
      if (this.stopped) return;
      this.log.warn({ err }, 'checkpoint listener lost; polling until it is back');
      this.reconnect = setTimeout(() => void this.connectListener().catch(() => onLost()), reconnectDelayMs(this.failures++));
      this.reconnect.unref();
    };
    client.on('notification', (m) => {
      if (m.channel === CHECKPOINT_CHANNEL) this.onAnnouncement(m.payload ?? '');
      else this.channels.get(m.channel)?.handler(m.payload ?? '');
    });
    client.on('error', onLost);
    client.on('end', () => onLost());
    try {
      await client.connect();
      await client.query([CHECKPOINT_CHANNEL, ...this.channels.keys()].map((c) => `LISTEN ${c}`).join('; '));
    } catch (err) {
      onLost(err as Error);
      await client.end().catch(() => undefined);
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.listener = client;
    this.failures = 0;
    for (const c of this.channels.values()) c.onLive(true);
    // Anything committed while the connection was down: read the checkpoints again.
    void this.refresh();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.poll) clearInterval(this.poll);
    if (this.reconnect) clearTimeout(this.reconnect);
    for (const w of this.waiting) {
      clearTimeout(w.timer);
      w.resolve(false);
    }
    this.waiting.clear();
    const l = this.listener;
    this.listener = null;
    for (const c of this.channels.values()) c.onLive(false);
    if (l) await l.end().catch(() => undefined);
  }

  /** In-process runners report here so a waiting request resumes without a round trip. */
  update(name: string, position: Position): void {
    if (!this.positions.has(name)) return;
    const cur = this.positions.get(name);
    if (!cur || comparePositions(position, cur) > 0) this.positions.set(name, position);
    this.settle();
  }

  /** A group's announcement carries where each checkpoint moved; anything else: read them. */
  private onAnnouncement(payload: string): void {
    const moved = parseAnnouncement(payload);
    if (!moved) {
      void this.refresh();
      return;
    }
    for (const [name, position] of moved) this.update(name, position);
  }

  private reached(position: Position, names: readonly string[]): boolean {
    for (const n of names) {
      const p = this.positions.get(n);
      if (!p || comparePositions(p, position) < 0) return false;
    }
    return true;
  }

  /**
   * True when the named projections (default: all this waiter knows) reached the position in
   * time; false on timeout (the caller still answers).
   */
  whenProcessed(position: Position | null, timeoutMs: number, names: readonly string[] = this.names): Promise<boolean> {
    if (!position || this.reached(position, names)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w: Waiting = {
        position,
        names,
        resolve,
        timer: setTimeout(() => {
          this.waiting.delete(w);
          resolve(false);
        }, timeoutMs),
      };
      this.waiting.add(w);
      // While the listener is up every move is announced: nothing to read. Without it, look.
      if (!this.listener) void this.refresh();
    });
  }

  private settle(): void {
    for (const w of this.waiting) {
      if (this.reached(w.position, w.names)) {
        clearTimeout(w.timer);
        this.waiting.delete(w);
        w.resolve(true);
      }
    }
  }

  private refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        for (const row of await readCheckpoints(this.knex)) {
          const p = positionOf(row);
          if (p) this.update(row.name, p);
        }
      } catch (err) {
        this.log.warn({ err }, 'reading checkpoints failed');
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }
}
