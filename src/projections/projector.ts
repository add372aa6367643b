import { Knex } from 'knex';
import { Logger } from 'pino';
import { EventStore, Position, RecordedEvent } from '../eventstore/types';
import { CHECKPOINTS, ensureCheckpointTable } from './checkpoints';
import { asRunnerTarget, Projection, Reactor } from './projection';
import { replayProjection } from './replay';
import { AdvisoryLocks } from './locks';
import { GroupRunner } from './group';

export interface ProjectorDeps {
  knex: Knex;
  store: EventStore;
  connectionString: string;
  log: Logger;
  batchSize?: number;
  onCheckpoint?: (name: string, position: Position) => void;
  /** After a batch committed: the events each projection applied (e.g. to evict caches). */
  onCommitted?: (name: string, events: RecordedEvent[]) => void;
}

/**
 * Creates read tables that do not exist yet (idempotent, serialised across processes). The API
 * runs this too, so it can answer before the projector has ever run.
 */
export async function prepareReadModels(knex: Knex, projections: readonly Projection[]): Promise<void> {
  await knex.transaction(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', ['prepare-read-models']);
    await ensureCheckpointTable(trx);
    for (const p of projections) {
      const row = await trx(CHECKPOINTS).where({ name: p.name }).first();
      await p.setup(trx);
      if (!row) await trx(CHECKPOINTS).insert({ name: p.name, version: p.version }).onConflict('name').ignore();
    }
  });
}

/**
 * Runs every projection and reactor, one active runner each across all processes: the
 * projections in groups (one log read and one transaction per batch for all of a group; see
 * Projection.group), the reactors as another (their side effects go to Redis, whose hiccups
 * must not hold up the read models).
 */
export class Projector {
  private readonly runners: GroupRunner[] = [];
  private readonly locks: AdvisoryLocks;

  constructor(
    private readonly deps: ProjectorDeps,
    private readonly projections: readonly Projection[],
    private readonly reactors: readonly Reactor[],
  ) {
    this.locks = new AdvisoryLocks(deps.connectionString);
  }

  /** Makes sure tables exist and rebuilds any projection whose code version moved on. */
  async prepare(): Promise<void> {
    const { knex, log } = this.deps;
    await prepareReadModels(knex, this.projections);
    for (const p of this.projections) {
      const row = await knex(CHECKPOINTS).where({ name: p.name }).first();
      if (row && row.version !== p.version) {
        log.info({ projection: p.name, from: row.version, to: p.version }, 'projection version changed; replaying');
        await replayProjection(this.deps, p);
      }
    }
  }

  start(): void {
    const common = {
      knex: this.deps.knex,
      store: this.deps.store,
      locks: this.locks,
      log: this.deps.log,
      batchSize: this.deps.batchSize,
      onCheckpoint: this.deps.onCheckpoint,
      onCommitted: this.deps.onCommitted,
    };
    const groups = new Map<string, Projection[]>();
    for (const p of this.projections) groups.set(p.group ?? 'projections', [...(groups.get(p.group ?? 'projections') ?? []), p]);
    for (const [name, members] of groups) {
      this.runners.push(
        new GroupRunner(
          members.map((p) => ({ target: asRunnerTarget(p), options: { version: p.version } })),
          // Requests wait on the default group: no delay. The audit log is read after the fact:
          // gathering gives larger batches and fewer transactions.
          { ...common, name, gatherMs: name === 'audit' ? 50 : 0 },
        ),
      );
    }
    if (this.reactors.length) {
      this.runners.push(
        new GroupRunner(
          this.reactors.map((r) => ({
            target: {
              name: r.name,
              handles: new Set(r.handles),
              applyBatch: async (events: RecordedEvent[]) => {
                for (const e of events) await r.react(e);
              },
            },
            options: { startAt: 'head' as const },
          })),
          { ...common, name: 'reactors', announce: false, gatherMs: 20 },
        ),
      );
    }
    for (const r of this.runners) r.start();
  }

  get status(): { name: string; active: boolean; position: Position | null }[] {
    return this.runners.flatMap((r) => r.status);
  }

  async stop(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.stop()));
    this.runners.length = 0;
    await this.locks.close();
  }
}
