import { MultiBar, Presets } from 'cli-progress';
import { PostgresEventStore } from '../eventstore/postgres';
import { replayProjection } from '../projections/replay';
import { createEventStore, createKnex, PROJECTIONS } from '../system';
import { cliEnv, runCli, wantsHelp } from './common';

const HELP = `Usage: npm run projections:replay [-- NAME...]

Rebuilds read tables from the event log. Each projection is built into new tables while the
API keeps answering from the current ones, then switched over in one transaction.

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
  const knex = createKnex(config.databaseUrl, Math.max(4, chosen.length * 2));
  const store = createEventStore(config, config.databaseUrl);
  try {
    if (store instanceof PostgresEventStore) await store.migrate();
    const total = store instanceof PostgresEventStore ? Number((await knex.raw('SELECT count(*)::bigint AS n FROM es_events')).rows[0].n) : 0;
    const bars = new MultiBar(
      { format: ' {name} |{bar}| {value}/{total} events | {speed} ev/s | ETA {eta_formatted}', hideCursor: true, noTTYOutput: true, notTTYSchedule: 2000 },
      Presets.shades_classic,
    );
    // All at once: each builds its own scratch tables, so they share the machine, not a lock.
    await Promise.all(
      chosen.map(async (p) => {
        const started = Date.now();
        const bar = bars.create(Math.max(total, 1), 0, { name: p.name.padEnd(16), speed: 0 });
        const { processed } = await replayProjection({ knex, store, connectionString: config.databaseUrl, log }, p, (progress) => {
          const secs = Math.max((Date.now() - started) / 1000, 0.001);
          bar.setTotal(Math.max(total, progress.processed, 1));
          bar.update(progress.processed, { speed: Math.round(progress.processed / secs) });
        });
        bar.update(processed, { speed: Math.round(processed / Math.max((Date.now() - started) / 1000, 0.001)) });
        bar.stop();
      }),
    );
    bars.stop();
    console.log(`Replayed ${chosen.map((p) => p.name).join(', ')}.`);
  } finally {
    await store.close();
    await knex.destroy();
    await cleanup();
  }
}

runCli(main);
