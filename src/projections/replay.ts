import { Knex } from 'knex';
import { Logger } from 'pino';
import { EventStore, Position, RecordedEvent } from '../eventstore/types';
import { CHECKPOINTS, ensureCheckpointTable, positionColumns, positionOf } from './checkpoints';
import { Projection } from './projection';
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
 * Rebuilds several projections in one pass over the log: each batch is read once and applied to
 * every projection's scratch tables, each projection in its own transactions on its own
 * connection and at its own pace (applyLog), so PostgreSQL uses every core. Then each is
 * swapped in as replayProjection does. Progress counts events of the log.
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
      await knex(CHECKPOINTS)
        .where({ name: `${p.name}#replay` })
        .delete();
      await knex(CHECKPOINTS).insert({ name: `${p.name}#replay`, version: p.version, ...positionColumns(null) });
    }

    const processed = await applyLog(deps, projections, batchSize, (n, at) => {
      for (const p of projections) onProgress?.({ projection: p.name, processed: n, position: at });
    });
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

/** Batches read ahead of the slowest projection, at most. */
const READ_AHEAD = 4;

/**
 * The whole log into every projection's scratch tables. The log is read once, in order, while
 * each projection goes through the batches at its own pace in its own transactions: a quick
 * one does not wait for the slowest at every batch, so PostgreSQL and this process stay busy.
 * Returns the events applied; reports progress as the slowest projection moves.
 */
async function applyLog(
  deps: ReplayDeps,
  projections: readonly Projection[],
  batchSize: number,
  onProgress: (processed: number, position: Position | null) => void,
): Promise<number> {
  const batches: (RecordedEvent[] | null)[] = [];
  /** Events in the batches before each index. */
  const before: number[] = [0];
  const done = new Map<Projection, number>(projections.map((p) => [p, -1]));
  let failure: unknown = null;
  let waiters: (() => void)[] = [];
  const changed = (): void => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const change = (): Promise<void> => new Promise((resolve) => waiters.push(resolve));
  const slowest = (): number => Math.min(...done.values());
  const check = (): void => {
    if (failure) throw failure;
  };
  const fail = (err: unknown): never => {
    failure ??= err;
    changed();
    throw err;
  };

  const read = async (): Promise<void> => {
    let from: Position | null = null;
    for (let i = 0; ; i++) {
      check();
      while (i - slowest() > READ_AHEAD) {
        await change();
        check();
      }
      const events = await deps.store.readAll(from, batchSize);
      batches[i] = events;
      before[i + 1] = before[i] + events.length;
      changed();
      if (events.length === 0) return;
      from = events[events.length - 1].position;
    }
  };

  const apply = async (p: Projection): Promise<void> => {
    for (let i = 0; ; i++) {
      check();
      while (batches[i] === undefined) {
        await change();
        check();
      }
      const events = batches[i]!;
      if (events.length === 0) return;
      const last = events[events.length - 1].position;
      // A replay's scratch tables are rebuilt from the log if lost: no need to wait for the WAL flush.
      await deps.knex.transaction(async (trx) => {
        await trx.raw(`SET LOCAL search_path TO ${scratchSchema(p.name)}, public; SET LOCAL synchronous_commit TO off`);
        await p.applyBatch(events, trx);
        await trx(CHECKPOINTS)
          .where({ name: `${p.name}#replay` })
          .update({ ...positionColumns(last), updated_at: trx.fn.now() });
      });
      const wasSlowest = slowest();
      done.set(p, i);
      const now = slowest();
      if (now > wasSlowest) {
        const reached = batches[now]!;
        for (let k = wasSlowest + 1; k <= now; k++) batches[k] = null;
        onProgress(before[now + 1], reached[reached.length - 1].position);
      }
      changed();
    }
  };

  await Promise.all([read().catch(fail), ...projections.map((p) => apply(p).catch(fail))]);
  return before[before.length - 1];
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
      await projection.applyBatch(events, trx);
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
