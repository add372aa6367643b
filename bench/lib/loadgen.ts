/**
 * Load runs in processes of their own (bench/lib/load-process.ts): one forked per run, loaded
 * before the run starts, its outcome sent back over IPC. Several can be prepared and started
 * together (the login storm beside the paced reads). Each reports the CPU its run used (not its
 * start-up, which comes before the measured time), which the CPU sampler counts as the load
 * generator.
 */
import { ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import type { PacedRecipe, Recipe } from './recipes';
import type { LoadResult } from './results';
import { onCleanup, ROOT } from './stack';

export type LoadJob =
  | { tool: 'autocannon'; url: string; connections: number; durationSeconds: number; recipe: Recipe }
  | { tool: 'paced'; url: string; rate: number; durationSeconds: number; connections: number; recipe: PacedRecipe }
  | { tool: 'commits'; databaseUrl: string; connections: number; durationSeconds: number };

/** A run's numbers, what its recipe counted (users or names handed out, broken refresh chains), and its CPU. */
export interface LoadOutcome {
  load: LoadResult;
  built: number;
  chainBreaks: number;
  cpuSeconds: number;
}

export type LoadMessage = { type: 'ready' } | { type: 'outcome'; outcome: LoadOutcome } | { type: 'error'; message: string };

/** A load process that has loaded its code and waits for its job. */
export interface PreparedLoad {
  /** Sends the job; resolves with its outcome once the process has exited. */
  run(): Promise<LoadOutcome>;
}

const live = new Set<ChildProcess>();
let cleanupRegistered = false;

export function prepareLoad(job: LoadJob): Promise<PreparedLoad> {
  if (!cleanupRegistered) {
    cleanupRegistered = true;
    onCleanup('stop load processes', async () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  const child = fork(path.join(__dirname, 'load-process.ts'), [], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx'],
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    // Structured clone: NaN percentiles of an empty run stay NaN (JSON would make them null).
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  live.add(child);
  let outcome: LoadOutcome | undefined;
  let failure: string | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      live.delete(child);
      resolve(code);
    }),
  );
  return new Promise<PreparedLoad>((resolve, reject) => {
    child.on('message', (m: LoadMessage) => {
      if (m.type === 'ready') resolve({ run });
      else if (m.type === 'outcome') outcome = m.outcome;
      else failure = m.message;
    });
    void exited.then((code) => reject(new Error(`the load process exited (${code}) before it was ready`)));
    const run = async (): Promise<LoadOutcome> => {
      child.send(job);
      const code = await exited;
      if (outcome) return outcome;
      throw new Error(`load run (${job.tool}) failed: ${failure ?? `the load process exited with ${code}`}`);
    };
  });
}

export const runLoadProcess = async (job: LoadJob): Promise<LoadOutcome> => (await prepareLoad(job)).run();
