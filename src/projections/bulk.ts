import { Knex } from 'knex';

/**
 * Inserts many rows in one statement with one parameter: the rows as a JSON array, expanded by
 * json_populate_recordset against the table's own row type (in the search_path's schema, so a
 * replay's scratch table). Much cheaper than a multi-row VALUES list with a parameter per value
 * for both sides: no SQL text to build, no thousands of parameters to bind. Rows keep their
 * order (identity columns follow it). jsonb columns take the value itself, not its JSON text.
 */
export async function insertJsonRows(
  trx: Knex.Transaction,
  table: string,
  columns: readonly string[],
  rows: readonly object[],
  conflictTarget: string,
): Promise<void> {
  if (rows.length === 0) return;
  const cols = columns.join(', ');
  await trx.raw(
    `INSERT INTO ${table} (${cols})
     SELECT ${cols} FROM json_populate_recordset(null::${table}, ?::json) WITH ORDINALITY AS r
      ORDER BY ordinality
     ON CONFLICT (${conflictTarget}) DO NOTHING`,
    [JSON.stringify(rows)],
  );
}
