import { Knex } from 'knex';
import { Logger } from 'pino';
import { EventStore, Position } from '../eventstore/types';
import { CHECKPOINTS, ensureCheckpointTable, positionColumns, positionOf } from './checkpoints';
import { applyEvents, Projection } from './projection';
import { AdvisoryLocks } from './locks';

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
  return replayProjections(deps, [projection], onProgress);
}

/**
 * Rebuilds several projections in one pass over the log: each batch is read once (the next one
 * is read while this one is applied) and applied to every projection's scratch tables at once,
 * each projection in its own transaction on its own connection, so PostgreSQL uses every core.
 * Then each is swapped in as replayProjection does. Progress counts events of the log.
 */
export async function replayProjections(
  deps: ReplayDeps,
  projections: readonly Projection[],
  onProgress?: (p: ReplayProgress) => void,
): Promise<{ processed: number }> {
  const { knex, log } = deps;
  const batchSize = deps.batchSize ?? 5000;
  const locks = new AdvisoryLocks(deps.connectionString);
  const label = projections.map((p) => p.name).join(', ');
  const deferred = new Map<Projection, string[]>();
  try {
    await ensureCheckpointTable(knex);
    for (const p of projections) {
      if (!(await locks.tryLock(`projection:${p.name}#replay`))) throw new Error(`A replay of ${p.name} is already running`);
    }
    for (const p of projections) {
      const schema = scratchSchema(p.name);
      await knex.raw(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await knex.raw(`CREATE SCHEMA ${schema}`);
      await knex.transaction(async (trx) => {
        await trx.raw(`SET LOCAL search_path TO ${schema}, public`);
        await p.setup(trx);
      });
      deferred.set(p, await dropDeferredIndexes(knex, schema, p));
      await knex(CHECKPOINTS).where({ name: `${p.name}#replay` }).delete();
      await knex(CHECKPOINTS).insert({ name: `${p.name}#replay`, version: p.version, ...positionColumns(null) });
    }

    let processed = 0;
    let from: Position | null = null;
    let next = deps.store.readAll(from, batchSize);
    for (;;) {
      const events = await next;
      if (events.length === 0) break;
      const last = events[events.length - 1].position;
      next = deps.store.readAll(last, batchSize);
      // A replay's scratch tables are rebuilt from the log if lost: no need to wait for the WAL flush.
      await Promise.all(
        projections.map((p) =>
          knex.transaction(async (trx) => {
            await trx.raw(`SET LOCAL search_path TO ${scratchSchema(p.name)}, public; SET LOCAL synchronous_commit TO off`);
            await applyEvents(p, events, trx);
            await trx(CHECKPOINTS)
              .where({ name: `${p.name}#replay` })
              .update({ ...positionColumns(last), updated_at: trx.fn.now() });
          }),
        ),
      );
      from = last;
      processed += events.length;
      for (const p of projections) onProgress?.({ projection: p.name, processed, position: from });
    }
    // Do not leave the read-ahead dangling (it found nothing, or the loop ended on an error).
    await next.catch(() => undefined);
    // Each index built once over the finished table, projections in parallel.
    await Promise.all(
      projections.map(async (p) => {
        for (const def of deferred.get(p) ?? []) {
          await knex.transaction(async (trx) => {
            await trx.raw(`SET LOCAL maintenance_work_mem TO '256MB'`);
            await trx.raw(def);
          });
        }
        // Fresh tables have no statistics until autovacuum gets to them: without these the
        // planner guesses, and guesses badly (a sequential scan for a trigram search).
        for (const t of p.tables) await knex.raw(`ANALYZE ${scratchSchema(p.name)}.${t}`);
      }),
    );

    for (const p of projections) {
      const tail = await swapIn(deps, p);
      onProgress?.({ projection: p.name, processed: processed + tail, position: null });
    }
    log.info({ projections: label, processed }, 'replay complete; new tables are live');
    return { processed };
  } finally {
    await locks.close();
  }
}

/**
 * Drops the scratch tables' non-unique indexes the projection does not read while applying
 * (unique ones stay: ON CONFLICT needs them) and returns their definitions to build at the end.
 */
async function dropDeferredIndexes(knex: ReplayDeps['knex'], schema: string, p: Projection): Promise<string[]> {
  const { rows } = await knex.raw<{ rows: { name: string; def: string }[] }>(
    `SELECT c.relname AS name, pg_get_indexdef(c.oid) AS def
       FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ? AND NOT x.indisunique`,
    [schema],
  );
  const defer = rows.filter((r) => !(p.readIndexes ?? []).includes(r.name));
  for (const r of defer) await knex.raw(`DROP INDEX ${schema}.${r.name}`);
  return defer.map((r) => r.def);
}

/** Applies what arrived since the scratch tables' checkpoint, under the live checkpoint's lock, and moves the tables in. */
async function swapIn(deps: ReplayDeps, projection: Projection): Promise<number> {
  const schema = scratchSchema(projection.name);
  const replayName = `${projection.name}#replay`;
  let processed = 0;
  await deps.knex.transaction(async (trx) => {
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
    await projection.onReplaced?.(trx);
    await trx.raw('SELECT pg_notify(?, ?)', ['projection_checkpoint', projection.name]);
  });
  deps.log.info({ projection: projection.name }, 'replayed tables are live');
  return processed;
}
