import { PostgresEventStore } from '../eventstore/postgres';
import { lagAfter, readCheckpoints, positionOf } from '../projections/checkpoints';
import { createEventStore, createKnex, PROJECTIONS } from '../system';
import { cliEnv, runCli, wantsHelp } from './common';

const HELP = `Usage: npm run projections:status [-- --json]

Prints each projection's and reactor's checkpoint, how many events it is behind, and how old
the oldest event it has not processed yet is. Exit code 0.

  --json   machine-readable output`;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (wantsHelp(args)) {
    console.log(HELP);
    return;
  }
  const { config, cleanup } = await cliEnv();
  const knex = createKnex(config.databaseUrl, 2);
  const store = createEventStore(config, config.databaseUrl);
  try {
    const rows = await readCheckpoints(knex).catch(() => []);
    const out = [];
    for (const row of rows.sort((a, b) => a.name.localeCompare(b.name))) {
      const p = positionOf(row);
      let lagEvents: number | null = null;
      let lagSeconds: number | null = null;
      if (store instanceof PostgresEventStore && (await knex.schema.hasTable('es_events'))) {
        ({ events: lagEvents, seconds: lagSeconds } = await lagAfter(knex, p));
      }
      const code = PROJECTIONS.find((x) => x.name === row.name);
      out.push({
        name: row.name,
        kind: row.name.startsWith('reactor:') ? 'reactor' : row.name.includes('#') ? 'replay in progress' : 'projection',
        version: row.version,
        codeVersion: code?.version ?? null,
        checkpoint: p ? `${p.commit}/${p.prepare}` : 'start',
        lagEvents,
        lagSeconds: lagSeconds === null ? null : Math.round(lagSeconds * 10) / 10,
        updatedAt: row.updated_at,
      });
    }
    if (args.includes('--json')) {
      console.log(JSON.stringify(out, null, 2));
    } else if (out.length === 0) {
      console.log('No projection has run yet.');
    } else {
      console.table(
        out.map((o) => ({
          name: o.name,
          kind: o.kind,
          version:
            o.codeVersion !== null && o.codeVersion !== o.version ? `${o.version} (code: ${o.codeVersion}, replay pending)` : o.version,
          checkpoint: o.checkpoint,
          'behind (events)': o.lagEvents ?? 'n/a',
          'behind (s)': o.lagSeconds ?? 'n/a',
          updated: new Date(o.updatedAt).toISOString(),
        })),
      );
    }
  } finally {
    await store.close();
    await knex.destroy();
    await cleanup();
  }
}

runCli(main);
