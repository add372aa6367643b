/**
 * replay: the app is stopped; profile edits (ProfileUpdated, consistent old/new values,
 * consecutive revisions) are added to the seeded users until the log holds --replay-events
 * events; then every projection is rebuilt in one pass by the built app's replayProjections
 * (what `npm run projections:replay` runs) in a child process, stopped at --replay-seconds and
 * its full pass then projected from the rate it reached.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { ScenarioRun } from '../lib/context';
import { bar, fmt, log } from '../lib/progress';
import { PROJECTION_NAMES } from '../lib/projection-wait';
import { insertBatches, profileUpdateEvents } from '../lib/seed';
import { onCleanup, ROOT } from '../lib/stack';

export const replay: ScenarioRun = async (ctx) => {
  const { o, pool } = ctx;
  await ctx.app.stop();
  const { rows } = await pool.query<{ n: string }>('SELECT count(*)::bigint AS n FROM es_events');
  const extra = Math.max(0, o.replayEvents - Number(rows[0].n));
  if (extra > 0) {
    // Users that logged in during the scenarios have later revisions: edits go after them.
    const { rows: revs } = await pool.query<{ stream_id: string; revision: string }>(
      "SELECT stream_id, revision::text FROM es_streams WHERE stream_id LIKE 'user-%' AND revision > 0",
    );
    const base = new Map(revs.map((x) => [x.stream_id.slice('user-'.length), Number(x.revision)]));
    const b = bar('seeding profile edits', extra, 'events');
    const t = Date.now();
    let done = 0;
    await insertBatches(
      pool,
      profileUpdateEvents(ctx.ids, extra, 5000, (userId) => base.get(userId) ?? 0),
      2,
      (k) => {
        done += k;
        b.update(done, { rate: `${fmt(done / ((Date.now() - t) / 1000))} ev/s` });
      },
    );
    b.stop();
    await pool.query('ANALYZE');
    log(`added ${fmt(done)} ProfileUpdated events in ${fmt((Date.now() - t) / 1000, 1)} s`);
  }
  const total = Number((await pool.query<{ n: string }>('SELECT count(*)::bigint AS n FROM es_events')).rows[0].n);
  const res = await replayAll(ctx.databaseUrl, total, o.replaySeconds);
  log(
    `  all ${PROJECTION_NAMES.length} projections in one pass: ${res.finished ? 'rebuilt' : 'stopped at the cap'}: ${fmt(res.processed)} events in ${fmt(res.seconds, 1)} s = ${fmt(res.eventsPerSecond)} events/s${res.finished ? '' : `, full pass projected at ${fmt(res.projectedSeconds, 0)} s`}`,
  );
  return {
    replay: {
      title: `Replay (rebuild) of every projection from a log of ≥ ${fmt(o.replayEvents)} events`,
      logEvents: total,
      projections: PROJECTION_NAMES.length,
      ...res,
      method: `every projection rebuilt in one pass over the log with the built app's replayProjections (what npm run projections:replay runs: batches of 5,000 read once, each projection through them at its own pace in its own transactions, reading at most four batches ahead of the slowest), app stopped; ${o.replaySeconds ? `capped at ${o.replaySeconds} s; if stopped there, the full pass is projected from the measured rate` : 'no cap'}`,
    },
  };
};

/** Replays every projection in a child process (the built app's code), stopped at the cap. */
function replayAll(
  databaseUrl: string,
  logEvents: number,
  capSeconds: number,
): Promise<{ processed: number; seconds: number; eventsPerSecond: number; finished: boolean; projectedSeconds: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'lib', 'replay-child.ts'), 'all'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: databaseUrl, NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onCleanup('stop the replay', async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const b = bar('replay all', logEvents, 'events');
    let last = { processed: 0, ms: 0 };
    let finished = false;
    let err = '';
    let buf = '';
    child.stdout.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const m = JSON.parse(line) as { type: string; processed: number; ms: number };
          last = { processed: m.processed, ms: m.ms };
          if (m.type === 'done') finished = true;
          b.update(Math.min(m.processed, logEvents), { rate: `${fmt(m.processed / (m.ms / 1000))} ev/s` });
        } catch {
          // not a progress line
        }
      }
    });
    child.stderr.on('data', (c: Buffer) => {
      err = (err + c.toString('utf8')).slice(-4000);
    });
    const cap = capSeconds > 0 ? setTimeout(() => child.kill('SIGKILL'), capSeconds * 1000) : null;
    child.on('exit', (code, signal) => {
      if (cap) clearTimeout(cap);
      b.stop();
      if (!finished && signal !== 'SIGKILL') {
        reject(new Error(`replay failed (${code ?? signal}):\n${err}`));
        return;
      }
      const seconds = last.ms / 1000;
      const eventsPerSecond = last.processed / Math.max(seconds, 0.001);
      resolve({
        processed: last.processed,
        seconds,
        eventsPerSecond,
        finished,
        projectedSeconds: finished ? seconds : logEvents / Math.max(eventsPerSecond, 0.001),
      });
    });
  });
}
