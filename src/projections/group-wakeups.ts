import { comparePositions, EventStore, Position } from '../eventstore/types';

export interface WakeupOptions {
  batchSize: number;
  idlePollMs?: number;
  lockRetryMs?: number;
  /** After a batch that was not full, wait this long for more events before the next (default 0). */
  gatherMs?: number;
}

/**
 * When a group looks at the log again: at once after an append the store tells of, after a
 * gather window when the group gathers, within milliseconds while an announced append is still
 * hidden, and otherwise slowly (the next append wakes it anyway).
 */
export class Wakeups {
  private wake: (() => void) | null = null;
  private unsubscribe: (() => void) | null = null;
  /** Empty looks in a row (the slow poll backs off with them, up to idlePollMs). */
  private idle = 0;
  /** When an append was last announced: until it is readable, look again soon. */
  private wokenAt = 0;
  /** Quick looks since that announcement (2, 4, 8, 16 ms), before falling back to polling. */
  private quickLooks = 0;
  /** The newest append the store told of, and the furthest this group has read: while the first is ahead, something is still to read. */
  private announced: Position | null = null;
  private readTo: Position | null = null;
  /** A wake-up waiting out the gather window. */
  private gathering: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: EventStore,
    private readonly o: WakeupOptions,
  ) {}

  start(): void {
    this.idle = 0;
    this.unsubscribe =
      this.store.onAppend?.((appended) => {
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
  }

  /** Ends the wait in progress (the group is stopping); appends still wake it until stop. */
  interrupt(): void {
    if (this.gathering) clearTimeout(this.gathering);
    this.gathering = null;
    this.wake?.();
  }

  stop(): void {
    this.unsubscribe?.();
  }

  /** The group read the log up to here. */
  readUpTo(p: Position): void {
    if (this.readTo === null || comparePositions(p, this.readTo) > 0) this.readTo = p;
  }

  /** Waits before the next batch, after one that read `n` events (-1: no member could run). */
  async next(n: number): Promise<void> {
    if (n > 0) {
      this.idle = 0;
      // A short gather window: the appends of the next few milliseconds (a login's two,
      // concurrent commands) go into one batch and one transaction instead of one each.
      // Not cut short by an append's wake-up: those are what it waits for.
      if (n < this.o.batchSize && this.o.gatherMs) await new Promise((r) => setTimeout(r, this.o.gatherMs));
      // Caught up with every append announced: wait for the next instead of reading nothing.
      if (n < this.o.batchSize && !this.behind() && this.announced !== null) await this.pause(this.o.idlePollMs ?? 250);
      return;
    }
    // Nothing to run: no lock held, or every member held is sitting out a failure.
    if (n < 0) return this.pause(this.o.lockRetryMs ?? 1000);
    // Nothing readable, though an append was announced past what was read: an older
    // transaction (anywhere in the cluster: readers see only what committed below the oldest
    // running one) still hides it, and its commit sends no wake-up, so look again within
    // milliseconds. Otherwise poll slowly: the next append wakes the loop.
    this.idle = Math.min(this.idle + 1, 5);
    const quick = this.behind() && Date.now() - this.wokenAt < 1000 && this.quickLooks < 4;
    if (quick) this.quickLooks++;
    await this.pause(quick ? 2 ** this.quickLooks : Math.min(this.o.idlePollMs ?? 250, 5 * 2 ** this.idle));
  }

  /** After a failed batch: a second before trying again. */
  afterFailure(): Promise<void> {
    return this.pause(1000);
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
}
