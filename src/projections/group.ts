import { Position } from '../eventstore/types';
import { BatchOptions, Batches, MemberFailed } from './group-batches';
import { GroupMemberOptions, GroupMembers, MembersOptions, RunnerTarget } from './group-members';
import { WakeupOptions, Wakeups } from './group-wakeups';

export type { GroupMemberOptions, RunnerTarget } from './group-members';

/** What a group is given; each part takes its share (their options say what each one means). */
export interface GroupOptions extends MembersOptions, Omit<BatchOptions, 'batchSize' | 'onRead'>, Omit<WakeupOptions, 'batchSize'> {
  batchSize?: number;
}

/**
 * Tails the log once for several targets: one read and one transaction per batch, whatever the
 * number of projections (a runner per projection re-read the log and committed a transaction
 * each, even for batches it had nothing to do with).
 *
 * Each member keeps its own checkpoint row and advisory lock, so the guarantees are those of a
 * lone runner: a member's events are applied, and its checkpoint moved, in the same
 * transaction, and only if its checkpoint row still holds the position this process last
 * wrote (checked by the statement that moves it, before commit); a second process holding none
 * of the locks stays idle; a member whose apply fails rolls the batch back and sits out for a
 * while, so it cannot stall the others.
 *
 * The parts: group-members.ts (locks and checkpoint rows), group-batches.ts (reading and
 * applying a batch), group-checkpoints.ts (writing and announcing checkpoints),
 * group-wakeups.ts (when to look at the log again).
 */
export class GroupRunner {
  private readonly members: GroupMembers;
  private readonly wakeups: Wakeups;
  private readonly batches: Batches;
  private stopped = false;
  private loop: Promise<void> | null = null;

  constructor(
    targets: readonly { target: RunnerTarget; options?: GroupMemberOptions }[],
    private readonly o: GroupOptions,
  ) {
    const batchSize = o.batchSize ?? 500;
    this.members = new GroupMembers(targets, o);
    this.wakeups = new Wakeups(o.store, { ...o, batchSize });
    this.batches = new Batches(this.members, { ...o, batchSize, onRead: (upTo) => this.wakeups.readUpTo(upTo) });
  }

  get status(): { name: string; active: boolean; position: Position | null }[] {
    return this.members.status;
  }

  start(): void {
    if (this.loop) return;
    this.stopped = false;
    this.wakeups.start();
    this.members.start();
    this.loop = this.run();
  }

  /** Finishes the batch in hand, then releases the locks. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeups.interrupt();
    await this.loop;
    this.loop = null;
    this.wakeups.stop();
    this.members.stop();
    await this.batches.flush();
    await this.members.releaseAll();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.members.acquire();
        await this.wakeups.next(await this.batches.run());
      } catch (err) {
        if (err instanceof MemberFailed) {
          this.members.sitOut(err.member, err.cause);
          continue;
        }
        this.o.log.error({ err, group: this.o.name }, 'projection group batch failed; retrying');
        await this.members.releaseAll();
        await this.wakeups.afterFailure();
      }
    }
  }
}
