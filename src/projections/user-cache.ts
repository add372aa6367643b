import { ALL_USERS, type UserRow } from './users';
import { BoundedMap } from '../infra/bounded';

/**
 * The rows of the `users` read table that an API process served lately, kept in memory so an
 * authenticated GET of the caller's own user (/api/auth/me, /api/profile) needs no database
 * round trip.
 *
 * Never stale beyond the notification: the users projection names every user it changed in a
 * NOTIFY sent by the same transaction (delivered on the connection whose checkpoint
 * notifications drive read-your-writes, and before them), and in the projector's own process
 * the runner evicts right after commit, before it reports the checkpoint. A read that raced an
 * eviction is not kept. While the notification connection is down nothing is cached.
 */
export class UserCache {
  private readonly rows: BoundedMap<string, UserRow>;
  private readonly counts = new BoundedMap<string, number>(1000);
  /** Bumped by every eviction: a row read before one may be older than it and is not kept. */
  private epoch = 0;
  private live = false;
  /** Reads answered from memory (for tests and curiosity). */
  hits = 0;

  constructor(
    /** Reads one row of the users table. */
    private readonly loadRow: (id: string) => Promise<UserRow | undefined>,
    capacity = 50_000,
  ) {
    this.rows = new BoundedMap(capacity);
  }

  /** Whether rows may be kept: only while evictions are sure to arrive. */
  setLive(live: boolean): void {
    this.live = live;
    if (!live) this.clear();
  }

  async get(id: string): Promise<UserRow | undefined> {
    const cached = this.rows.get(id);
    if (cached) {
      this.hits++;
      return cached;
    }
    return this.fill(this.rows, id, () => this.loadRow(id));
  }

  /**
   * A number derived from the users table (a list's total from users_stats), kept until any
   * user changes: every change that could move a count is a change the projection announces.
   */
  async count(key: string, load: () => Promise<number>): Promise<number> {
    return this.counts.get(key) ?? ((await this.fill(this.counts, key, load)) as number);
  }

  /** Loads a value and keeps it, unless an eviction came in meanwhile (it may be older than that). */
  private async fill<V>(into: Map<string, V>, key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const epoch = this.epoch;
    const value = await load();
    if (value !== undefined && this.live && epoch === this.epoch) into.set(key, value);
    return value;
  }

  evict(ids: Iterable<string>): void {
    this.epoch++;
    this.counts.clear();
    for (const id of ids) this.rows.delete(id);
  }

  /** A NOTIFY payload from the users projection. */
  onNotification(payload: string): void {
    if (payload === ALL_USERS) this.clear();
    else this.evict(payload.split(','));
  }

  clear(): void {
    this.epoch++;
    this.rows.clear();
    this.counts.clear();
  }

  get size(): number {
    return this.rows.size;
  }
}
