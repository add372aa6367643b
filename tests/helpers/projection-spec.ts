import { randomBytes } from 'node:crypto';
import { Knex } from 'knex';
import { RecordedEvent } from '../../src/eventstore/types';
import { asRunnerTarget, Projection } from '../../src/projections/projection';
import { createKnex } from '../../src/system';
import { createTestDatabase, TestDatabase } from './db';

/**
 * Given events → then rows, for one projection against a real PostgreSQL (the idea of Emmett's
 * PostgreSQLProjectionSpec):
 *
 *   const spec = projectionSpec(servicesProjection);
 *   it('a created service is listed', () =>
 *     spec.given(log.service(id, created)).then({ services: [{ id, name: 'Billing' }] }));
 *
 * The events go through the path the projector takes (`asRunnerTarget`: only the types the
 * projection handles, through `applyBatch` when it has one), into fresh tables each time, cut
 * into batches several ways: one transaction for all, one per event, two events each; and, as
 * the reference, `apply` event by event. Every cut must leave the rows `then` names, so a
 * projection that folds a batch is checked against its own event-by-event handler by every case.
 *
 * `then` names tables (or the spec's named queries) and their rows: a named table must hold
 * exactly that many rows, each with the values given for the columns given (the same columns in
 * every row of a table; the others are not compared; order does not matter). Values are plain
 * (no asymmetric matchers); timestamps compare as ISO strings, so an event's `createdAt` or an
 * ISO string from its data can stand for them. A table not named is not looked at. Events must
 * be given in log order (as the builders of tests/helpers/events.ts made them).
 *
 * The helper asks of a projection only what the projector's runner takes (`asRunnerTarget`),
 * its tables and `setup`, and `apply` for the reference cut: when the Projection interface
 * changes, this file follows `asRunnerTarget`.
 *
 * Calling `projectionSpec` in a describe block registers the hooks that create the spec's own
 * database (once per file) and drop it afterwards.
 */
export interface ProjectionSpec {
  given(...events: RecordedEvent[]): Scenario;
}

export interface Scenario {
  then(expected: ExpectedRows): Promise<void>;
  /** Every row of every table of the projection (and of every named query) after one cut (by default one batch). */
  rows(cut?: Cut): Promise<Rows>;
  /**
   * The rows that applying each event on its own leaves, checked to be what every cut into
   * batches of these sizes leaves too (long, uneven logs; a replay's batches are 5,000 events).
   * Fails when they leave no row at all: nothing would have been compared.
   */
  sameRowsHoweverCut(sizes: readonly number[]): Promise<Rows>;
}

type Row = Record<string, unknown>;
export type Rows = Record<string, Row[]>;
export type ExpectedRows = Record<string, readonly Row[]>;

/** How a scenario's events are cut into transactions: `apply` one event each, or `applyBatch` batches of a size. */
export type Cut = { through: 'apply' } | { through: 'applyBatch'; size: number };

/** What the helper needs of a projection: whatever the projector's runner takes, and its tables. */
type SpecTarget = Parameters<typeof asRunnerTarget>[0] & Pick<Projection, 'tables' | 'setup' | 'apply'>;

const describeCut = (cut: Cut, handled: number): string =>
  cut.through === 'apply' ? 'apply(), event by event' : cut.size >= handled ? 'one batch' : `batches of ${cut.size}`;

/** Dates as ISO strings, so rows compare with event timestamps whichever form they take. */
const plain = (value: unknown): unknown => {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
};

const byContent = (a: Row, b: Row): number => {
  const [x, y] = [JSON.stringify(a), JSON.stringify(b)];
  return x < y ? -1 : x > y ? 1 : 0;
};

/** Runs an assertion whose failure starts by saying which table and cut it was about. */
const saying = (what: string, assertion: () => void): void => {
  try {
    assertion();
  } catch (err) {
    if (err instanceof Error) err.message = `${what}:\n\n${err.message}`;
    throw err;
  }
};

/** The row with only these columns, in this order, in plain form. */
const pick = (row: Row, columns: readonly string[]): Row => Object.fromEntries(columns.map((c) => [c, plain(row[c])]));

export interface SpecOptions {
  /**
   * Named queries `then` can check beside the tables, for what a reader sees rather than how it
   * is stored (e.g. the counts that are not zero, where a table keeps zero rows only some cuts make).
   */
  queries?: Record<string, string>;
}

export function projectionSpec(projection: SpecTarget, options: SpecOptions = {}): ProjectionSpec {
  let db: TestDatabase;
  let knex: Knex;
  beforeAll(async () => {
    db = await createTestDatabase(`spec${projection.name}`);
    knex = createKnex(db.url, 2);
  });
  afterAll(async () => {
    await knex?.destroy();
    await db?.drop();
  });
  const target = asRunnerTarget(projection);

  /** A fresh schema with the projection's tables; every transaction on it looks there first. */
  const inFreshSchema = async (): Promise<(work: (trx: Knex.Transaction) => Promise<unknown>) => Promise<void>> => {
    const schema = `spec_${randomBytes(6).toString('hex')}`;
    await knex.raw(`CREATE SCHEMA ${schema}`);
    const transaction = (work: (trx: Knex.Transaction) => Promise<unknown>) =>
      knex.transaction(async (trx) => {
        await trx.raw(`SET LOCAL search_path TO ${schema}, public`);
        await work(trx);
      });
    await transaction((trx) => projection.setup(trx));
    return transaction;
  };

  const project = async (events: readonly RecordedEvent[], cut: Cut): Promise<Rows> => {
    // What the runner hands over: only the events the projection handles (a batch of none opens no transaction).
    const handled = events.filter((e) => target.handles.has(e.type));
    const transaction = await inFreshSchema();
    if (cut.through === 'apply') {
      for (const e of handled) await transaction((trx) => projection.apply(e, trx));
    } else {
      for (let i = 0; i < handled.length; i += cut.size) await transaction((trx) => target.applyBatch(handled.slice(i, i + cut.size), trx));
    }
    const rows: Rows = {};
    const reads = [...projection.tables.map((t) => [t, `SELECT * FROM ${t}`]), ...Object.entries(options.queries ?? {})];
    await transaction(async (trx) => {
      for (const [name, sql] of reads) rows[name] = (await trx.raw<{ rows: Row[] }>(sql)).rows;
    });
    return rows;
  };

  /** The cuts of `handled` events that differ: event by event through apply; one batch; batches of 1; batches of 2. */
  const cutsFor = (handled: number): Cut[] => {
    const all = Math.max(handled, 1);
    const sizes = [...new Set([all, 1, 2].map((size) => Math.min(size, all)))];
    return [{ through: 'apply' }, ...sizes.map((size): Cut => ({ through: 'applyBatch', size }))];
  };

  /** The columns a table's expected rows name: the same in every row, so rows pair up by content. */
  const columnsOf = (table: string, want: readonly Row[]): string[] => {
    const known = [...projection.tables, ...Object.keys(options.queries ?? {})];
    if (!known.includes(table)) throw new Error(`${projection.name} has no table or query ${table} (it has ${known.join(', ')})`);
    const columns = Object.keys(want[0] ?? {});
    if (want.some((r) => Object.keys(r).join() !== columns.join()))
      throw new Error(`the expected rows of ${table} must name the same columns, in the same order`);
    return columns;
  };

  return {
    given: (...events) => {
      const disorder = events.findIndex((e, i) => i > 0 && e.position.commit <= events[i - 1].position.commit);
      if (disorder > 0)
        throw new Error(
          `given: the events must be in log order; event ${disorder} (${events[disorder].type}) comes before the one given ahead of it`,
        );
      const handled = events.filter((e) => target.handles.has(e.type)).length;
      return {
        async then(expected) {
          const columns = new Map(Object.entries(expected).map(([table, want]) => [table, columnsOf(table, want)]));
          for (const cut of cutsFor(handled)) {
            const rows = await project(events, cut);
            for (const [table, want] of Object.entries(expected)) {
              const got = rows[table].map((r) => pick(r, columns.get(table)!)).sort(byContent);
              const wanted = want.map((r) => pick(r, columns.get(table)!)).sort(byContent);
              saying(`${table} after ${describeCut(cut, handled)}`, () => expect(got).toEqual(wanted));
            }
          }
        },
        rows: (cut = { through: 'applyBatch', size: Math.max(handled, 1) }) => project(events, cut),
        async sameRowsHoweverCut(sizes) {
          const canonical = (rows: Rows): Record<string, string[]> =>
            Object.fromEntries(Object.entries(rows).map(([t, rs]) => [t, rs.map((r) => JSON.stringify(plain(r))).sort()]));
          const reference = await project(events, { through: 'apply' });
          expect(Object.values(reference).some((rs) => rs.length > 0)).toBe(true);
          for (const size of sizes) {
            const cut: Cut = { through: 'applyBatch', size };
            const rows = canonical(await project(events, cut));
            saying(`${describeCut(cut, handled)}, compared with apply() event by event`, () => expect(rows).toEqual(canonical(reference)));
          }
          return reference;
        },
      };
    },
  };
}
