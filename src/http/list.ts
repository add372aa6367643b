import { Knex } from 'knex';
import * as yup from 'yup';
import { listParams } from './schemas';
import { validate } from './validate';

/** The query schema of a list: paging, sorting by the documented fields, and the filters (also the OpenAPI document's). */
export const listQuerySchema = (sortColumns: Record<string, string>, filters: yup.AnyObjectSchema): yup.AnyObjectSchema =>
  listParams(Object.keys(sortColumns)).concat(filters);

export interface ListQuery<F> {
  page: number;
  limit: number;
  order: { column: string; direction: 'asc' | 'desc' }[];
  filters: F;
}

/**
 * Parses `page`, `limit`, `sort` (only documented fields; `-field` descends) and the resource's
 * filters. `sortColumns` maps each documented field to its column; `tiebreak` keeps pages stable.
 */
export function parseList<F extends yup.AnyObject>(
  query: unknown,
  sortColumns: Record<string, string>,
  defaultSort: string,
  filters: yup.ObjectSchema<F>,
  tiebreak = 'id',
): ListQuery<F> {
  const schema = listQuerySchema(sortColumns, filters);
  const v = validate(schema, query) as { page: number; limit: number; sort?: string } & F;
  const sort = v.sort ?? defaultSort;
  const desc = sort.startsWith('-');
  const column = sortColumns[desc ? sort.slice(1) : sort];
  const direction = desc ? 'desc' : 'asc';
  const { page, limit, sort: _s, ...rest } = v;
  return {
    page,
    limit,
    order: [
      { column, direction },
      { column: tiebreak, direction },
    ],
    filters: rest as unknown as F,
  };
}

export interface Page<T> {
  data: T[];
  meta: { page: number; limit: number; total: number; totalPages: number };
}

const metaOf = (q: ListQuery<unknown>, total: number): Page<never>['meta'] => ({
  page: q.page,
  limit: q.limit,
  total,
  totalPages: Math.ceil(total / q.limit),
});

/** The rows of the page `q` asks for, in its order. */
const pageRows = <Row>(from: Knex.QueryBuilder, q: ListQuery<unknown>): Promise<Row[]> =>
  from
    .orderBy(q.order.map((o) => ({ column: o.column, order: o.direction })))
    .limit(q.limit)
    .offset((q.page - 1) * q.limit) as unknown as Promise<Row[]>;

const countOf = async (base: Knex.QueryBuilder): Promise<number> => {
  const [{ count }] = await base.clone().clearSelect().clearOrder().count<{ count: string }[]>({ count: '*' });
  return Number(count);
};

/** Runs a filtered query for one page and its total. */
export async function paginate<Row extends object, T>(
  base: Knex.QueryBuilder,
  q: ListQuery<unknown>,
  present: (row: Row) => T,
  /** A cheaper way to the total, when the resource keeps counts. */
  countOverride?: () => Promise<number>,
): Promise<Page<T>> {
  const [total, rows] = await Promise.all([countOverride ? countOverride() : countOf(base), pageRows<Row>(base.clone(), q)]);
  return { data: rows.map(present), meta: metaOf(q, total) };
}

/**
 * A page of a text search. The total comes first (a bitmap scan of the trigram index); when the
 * matches are few, the page is sorted from exactly those rows (a materialised CTE) instead of
 * walking the sort's index and discarding every row that does not match, a plan the planner
 * may choose and that took hundreds of milliseconds for a rare string over 100,000 users. Many
 * matches keep the index walk: it stops after one page.
 */
export async function paginateSearch<Row extends object, T>(
  knex: Knex,
  base: Knex.QueryBuilder,
  q: ListQuery<unknown>,
  present: (row: Row) => T,
  fewMatches = 5000,
): Promise<Page<T>> {
  const total = await countOf(base);
  if (total === 0 || (q.page - 1) * q.limit >= total) return { data: [], meta: metaOf(q, total) };
  const from = total <= fewMatches ? knex.withMaterialized('matches', base.clone()).select('*').from('matches') : base.clone();
  const rows = await pageRows<Row>(from, q);
  return { data: rows.map(present), meta: metaOf(q, total) };
}
