import { Knex } from 'knex';
import { Logger } from 'pino';
import { EventStore, Position } from '../eventstore/types';
import { CHECKPOINTS, positionColumns, positionOf } from './checkpoints';
import { applyEvents, asRunnerTarget, Projection } from './projection';
import { AdvisoryLocks } from './locks';
import { ProjectionRunner } from './runner';
import { ALL_USERS, USERS_CHANGED_CHANNEL } from './user-cache';

export interface ReplayDeps {
  knex: Knex;
  store: EventStore;
  connectionString: string;
  log: Logger;
  batchSize?: number;
}

export interface ReplayProgress {
  projection: string;
  processed: number;
  position: Position | null;
}

const scratchSchema = (name: string): string => `replay_${name.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}`;


/**
 * Rebuilds a projection's tables from the whole log into a scratch schema while the live
 * tables keep answering, then swaps them in one transaction: lock the live checkpoint (the live
 * runner waits), apply what arrived meanwhile, drop the old tables, move the new ones in,
 * take over the checkpoint.
 */
export async function replayProjection(
  deps: ReplayDeps,
  projection: Projection,
  onProgress?: (p: ReplayProgress) => void,
): Promise<{ processed: number }> {
  const { knex, log } = deps;
  const schema = scratchSchema(projection.name);
  const replayName = `${projection.name}#replay`;
  const locks = new AdvisoryLocks(deps.connectionString);
  try {
    if (!(await locks.tryLock(`projection:${replayName}`))) throw new Error(`A replay of ${projection.name} is already running`);

    await knex.raw(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await knex.raw(`CREATE SCHEMA ${schema}`);
    await knex.transaction(async (trx) => {
      await trx.raw(`SET LOCAL search_path TO ${schema}, public`);
      await projection.setup(trx);
    });
    await knex(CHECKPOINTS).where({ name: replayName }).delete();
    await knex(CHECKPOINTS).insert({ name: replayName, version: projection.version, ...positionColumns(null) });

    const runner = new ProjectionRunner(asRunnerTarget(projection), {
      knex,
      store: deps.store,
      locks,
      log,
      batchSize: deps.batchSize ?? 2000,
      checkpointName: replayName,
      schema,
    });
    let processed = 0;
    for (;;) {
      const n = await runner.runBatch();
      processed += n;
      onProgress?.({ projection: projection.name, processed, position: runner.position });
      if (n === 0) break;
    }

    await knex.transaction(async (trx) => {
      await trx(CHECKPOINTS)
        .insert({ name: projection.name, version: projection.version, ...positionColumns(null) })
        .onConflict('name')
        .ignore();
      await trx(CHECKPOINTS).where({ name: projection.name }).forUpdate().first();
      // Whatever was appended since the last batch, applied under the lock so nothing falls between.
      let from = positionOf(await trx(CHECKPOINTS).where({ name: replayName }).first());
      await trx.raw(`SET LOCAL search_path TO ${schema}, public`);
      for (;;) {
        const events = await deps.store.readAll(from, 2000);
        if (events.length === 0) break;
        await applyEvents(projection, events, trx);
        from = events[events.length - 1].position;
        processed += events.length;
      }
      await trx.raw('SET LOCAL search_path TO public');
      for (const t of projection.tables) {
        await trx.raw(`DROP TABLE IF EXISTS public.${t} CASCADE`);
        await trx.raw(`ALTER TABLE ${schema}.${t} SET SCHEMA public`);
      }
      await trx(CHECKPOINTS)
        .where({ name: projection.name })
        .update({ version: projection.version, ...positionColumns(from), updated_at: trx.fn.now() });
      await trx(CHECKPOINTS).where({ name: replayName }).delete();
      await trx.raw(`DROP SCHEMA ${schema} CASCADE`);
      // API processes cache users rows: the table they came from is gone.
      if (projection.tables.includes('users')) await trx.raw('SELECT pg_notify(?, ?)', [USERS_CHANGED_CHANNEL, ALL_USERS]);
      await trx.raw('SELECT pg_notify(?, ?)', ['projection_checkpoint', projection.name]);
    });
    onProgress?.({ projection: projection.name, processed, position: null });
    log.info({ projection: projection.name, processed }, 'replay complete; new tables are live');
    return { processed };
  } finally {
    await locks.close();
  }
}
