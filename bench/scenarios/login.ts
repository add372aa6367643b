/**
 * login: POST /api/auth/login, each request a different seeded user. Bound by bcrypt by design:
 * before it, the machine's raw verify rate (one worker thread per core, for --hash-seconds) is
 * measured, and logins are reported as a share of that hash-bound limit.
 */
import os from 'node:os';
import { CONNECTIONS } from '../lib/connections';
import { reportOf, ScenarioRun } from '../lib/context';
import { measureHashRate } from '../lib/hashrate';
import { PASSWORD } from '../lib/accounts';
import { fmt, log } from '../lib/progress';

export const login: ScenarioRun = async (ctx) => {
  log(
    `  raw bcrypt verify rate: ${os.availableParallelism?.() ?? os.cpus().length} worker threads, cost ${ctx.o.bcryptCost}, ${ctx.o.hashSeconds} s`,
  );
  const hash = await measureHashRate(PASSWORD, ctx.ids.passwordHash, ctx.o.hashSeconds * 1000);
  log(`  hash-bound limit: ${fmt(hash.perSecond, 1)} verifies/s (${fmt(hash.perThreadPerSecond, 1)} per thread)`);
  const m = await ctx.measure('login', ctx.autocannon(ctx.logins(), CONNECTIONS.login, ctx.o.duration));
  return {
    login: {
      ...reportOf('POST /api/auth/login (distinct seeded users, round-robin)', m),
      hashRate: hash,
      fractionOfHashLimit: m.load.rps / hash.perSecond,
    },
  };
};
