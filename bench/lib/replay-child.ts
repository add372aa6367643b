/**
 * Rebuilds one projection, or `all` in one pass, with the built app's own replay
 * (dist/projections/replay.js, what `npm run projections:replay` runs), reporting progress as JSON lines on stdout:
 * `{"type":"progress","processed":n,"ms":t}` and finally `{"type":"done",...}`.
 * Run by bench/run.ts as a child process so that a time-capped replay can be stopped.
 *
 * Usage: node --import tsx bench/lib/replay-child.ts <projection|all> (DATABASE_URL in the environment)
 */
import path from 'node:path';
import pino from 'pino';

type ReplayModule = typeof import('../../src/projections/replay');
type SystemModule = typeof import('../../src/system');
type StoreModule = typeof import('../../src/eventstore/postgres');

const dist = path.resolve(__dirname, '..', '..', 'dist');
/* eslint-disable @typescript-eslint/no-require-imports */
const { replayProjections } = require(path.join(dist, 'projections', 'replay.js')) as ReplayModule;
const { PROJECTIONS, createKnex } = require(path.join(dist, 'system.js')) as SystemModule;
const { PostgresEventStore } = require(path.join(dist, 'eventstore', 'postgres.js')) as StoreModule;

async function main(): Promise<void> {
  const name = process.argv[2];
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is required');
  const chosen = name === 'all' ? PROJECTIONS : PROJECTIONS.filter((p) => p.name === name);
  if (chosen.length === 0) throw new Error(`unknown projection ${name}`);
  // The same pool sizes as the replay CLI (src/cli/replay.ts).
  const knex = createKnex(url, chosen.length + 2);
  const store = PostgresEventStore.fromConfig({ connectionString: url, max: 4 });
  const log = pino({ level: 'warn' }, pino.destination(2));
  const started = process.hrtime.bigint();
  const ms = () => Number(process.hrtime.bigint() - started) / 1e6;
  let lastReport = 0;
  try {
    const { processed } = await replayProjections({ knex, store, connectionString: url, log }, chosen, (p) => {
      if (ms() - lastReport < 250) return;
      lastReport = ms();
      process.stdout.write(`${JSON.stringify({ type: 'progress', processed: p.processed, ms: ms() })}\n`);
    });
    process.stdout.write(`${JSON.stringify({ type: 'done', processed, ms: ms() })}\n`);
  } finally {
    await store.close();
    await knex.destroy();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
