/**
 * The load generator's own process: the bench forks one per load run (bench/lib/loadgen.ts), so
 * the client never shares an event loop with the bench's CPU sampler, progress bars, database
 * pool or the app's output, and its CPU is its own. It says `ready` once loaded, runs the one
 * job it is sent, answers with the outcome and exits.
 *
 * Usage (by the bench only): node --import tsx bench/lib/load-process.ts, with an IPC channel.
 */
import { runCommitLoop } from './commits';
import type { LoadJob, LoadOutcome, LoadMessage } from './loadgen';
import { runLoad } from './load';
import { runPaced } from './paced';
import { autocannonRequests, pacedRequests, RecipeStats } from './recipes';
import type { LoadResult } from './results';

async function run(job: LoadJob, stats: RecipeStats): Promise<LoadResult> {
  switch (job.tool) {
    case 'autocannon':
      return runLoad({
        url: job.url,
        connections: job.connections,
        durationSeconds: job.durationSeconds,
        ...autocannonRequests(job.recipe, stats),
      });
    case 'paced':
      return runPaced({
        url: job.url,
        rate: job.rate,
        durationSeconds: job.durationSeconds,
        connections: job.connections,
        request: pacedRequests(job.recipe, stats),
      });
    case 'commits':
      return runCommitLoop(job);
  }
}

/** Sends a message; the last one closes the channel once it is out, which ends this process. */
const send = (m: LoadMessage, last = false) => process.send!(m, undefined, {}, () => last && process.disconnect());

process.once('message', (job: LoadJob) => {
  const stats: RecipeStats = { built: 0, chainBreaks: 0 };
  const cpu = process.cpuUsage();
  run(job, stats).then(
    (load) => {
      const used = process.cpuUsage(cpu);
      const outcome: LoadOutcome = { load, ...stats, cpuSeconds: (used.user + used.system) / 1e6 };
      send({ type: 'outcome', outcome }, true);
    },
    (err: unknown) => send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }, true),
  );
});
// The bench going away (Ctrl-C, a crash) ends the run.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
