import { Presets, SingleBar } from 'cli-progress';
import { PostgresEventStore } from '../eventstore/postgres';
import { replayProjections } from '../projections/replay';
import { createEventStore, createKnex, PROJECTIONS } from '../system';
import { cliEnv, runCli, wantsHelp } from './common';

const HELP = `Usage: npm run projections:replay [-- NAME...]

Rebuilds read tables from the event log in one pass: each batch of events is read once and
applied to every chosen projection's new tables (in parallel transactions) while the API keeps
answering from the current ones; each is then switched over in one transaction.

  NAME   projections to rebuild (default: all): ${PROJECTIONS.map((p) => p.name).join(', ')}

Environment: DATABASE_URL (or the embedded PostgreSQL), EVENTSTORE_URL (optional).`;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (wantsHelp(args)) {
    console.log(HELP);
    return;
  }
  const unknown = args.filter((a) => !PROJECTIONS.some((p) => p.name === a));
  if (unknown.length) {
    console.error(`Unknown projection(s): ${unknown.join(', ')}\n\n${HELP}`);
    process.exit(2);
  }
  const chosen = args.length ? PROJECTIONS.filter((p) => args.includes(p.name)) : PROJECTIONS;
  const { config, log, cleanup } = await cliEnv();
  const knex = createKnex(config.databaseUrl, chosen.length + 2);
  const store = createEventStore(config, config.databaseUrl);
  try {
    if (store instanceof PostgresEventStore) await store.migrate();
    const total =
      store instanceof PostgresEventStore ? Number((await knex.raw('SELECT count(*)::bigint AS n FROM es_events')).rows[0].n) : 0;
    const bar = new SingleBar(
      {
        format: ' replay |{bar}| {value}/{total} events | {speed} ev/s | ETA {eta_formatted}',
        hideCursor: true,
        noTTYOutput: true,
        notTTYSchedule: 2000,
      },
      Presets.shades_classic,
    );
    // One pass over the log feeds every chosen projection (each into its own scratch tables).
    const started = Date.now();
    bar.start(Math.max(total, 1), 0, { speed: 0 });
    const speed = (n: number) => Math.round(n / Math.max((Date.now() - started) / 1000, 0.001));
    const { processed } = await replayProjections({ knex, store, connectionString: config.databaseUrl, log }, chosen, (progress) => {
      bar.setTotal(Math.max(total, progress.processed, 1));
      bar.update(progress.processed, { speed: speed(progress.processed) });
    });
    bar.update(processed, { speed: speed(processed) });
    bar.stop();
    console.log(`Replayed ${chosen.map((p) => p.name).join(', ')}.`);
  } finally {
    await store.close();
    await knex.destroy();
    await cleanup();
  }
}

runCli(main);
