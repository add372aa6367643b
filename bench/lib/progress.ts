/** What the bench prints while it runs: timestamped lines, numbers, progress bars. */
import { Presets, SingleBar } from 'cli-progress';
import type { LoadResult } from './results';

export const log = (msg: string): void => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

export const fmt = (n: number, d = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : 'n/a';

/** A progress bar over a count (events seeded, projected, replayed). */
export const bar = (label: string, total: number, unit: string): SingleBar => {
  const b = new SingleBar(
    {
      format: ` ${label.padEnd(22)} |{bar}| {percentage}% | {value}/{total} ${unit} | {rate} | ETA {eta_formatted}`,
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 3000,
      etaBuffer: 20,
    },
    Presets.shades_classic,
  );
  b.start(Math.max(total, 1), 0, { rate: '' });
  return b;
};

/** A progress bar over a timed phase. */
export async function timed<T>(label: string, seconds: number, work: Promise<T>): Promise<T> {
  const b = new SingleBar(
    { format: ` ${label.padEnd(34)} |{bar}| {value}/{total} s`, hideCursor: true, noTTYOutput: true, notTTYSchedule: 5000 },
    Presets.shades_classic,
  );
  const started = Date.now();
  b.start(Math.ceil(seconds), 0);
  const t = setInterval(() => b.update(Math.min(Math.ceil(seconds), Math.floor((Date.now() - started) / 1000))), 250);
  try {
    return await work;
  } finally {
    clearInterval(t);
    b.update(Math.ceil(seconds));
    b.stop();
  }
}

export const summary = (l: LoadResult): string =>
  `${fmt(l.rps)} req/s, p50 ${fmt(l.p50, 2)} ms, p99 ${fmt(l.p99, 2)} ms, ${l.ok} ok, ${l.non2xx} non-2xx, ${l.errors} errors, ${l.timeouts} timeouts${l.abandoned ? `, ${l.abandoned} still queued at the end` : ''} (${l.connections} connections${l.targetRate ? `, paced at ${l.targetRate}/s` : ''})`;
