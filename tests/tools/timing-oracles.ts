/**
 * Measures whether the answer time of the "same answer for any address" routes tells a
 * registered address from an unknown one: the median of N requests per case, the cases
 * interleaved so that drift of this shared machine hits both alike, each request sent when the
 * work of the one before has settled. Not a test (speed is never
 * asserted); run it by hand and read the numbers:
 *
 *   npx tsx tests/tools/timing-oracles.ts [N=50] [BCRYPT_COST=4]
 *
 * It starts the whole app on a fresh test database (tests/helpers/stack.ts), like the tests.
 */
import { registerUser } from '../../src/commands/user/account';
import { startStack, TEST_PASSWORD } from '../helpers/stack';

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 50);
  const cost = process.argv[3] ?? '4';
  const s = await startStack('timing', { BCRYPT_COST: cost });
  try {
    // A registered address per request, as a prober would try each address once (a per-address
    // counter seen for the first time costs the same for a known and an unknown address).
    const cmd = s.system.services!.cmd;
    const meta = { correlationId: 'timing', ip: null, userAgent: null, actorId: null };
    const accounts = async (kind: string, verified: boolean): Promise<string[]> => {
      const emails = Array.from({ length: n + 5 }, (_, i) => `${kind}-${i}@example.com`);
      for (const email of emails)
        await registerUser(
          cmd,
          { email, password: TEST_PASSWORD, username: null, firstName: null, lastName: null, name: null, profile: null, verified },
          meta,
        );
      return emails;
    };
    const registered = await accounts('registered', true);
    const forgetful = await accounts('forgetful', true);
    // Unverified accounts: the ones resend-verification sends a link to.
    const unverified = await accounts('unverified', false);
    // Each request is timed on a quiet system: the work a previous request left behind (its
    // projection, its jobs, its mail) is done first, so only the request's own path is measured.
    const queues = s.system.queues.all;
    const settle = async (): Promise<void> => {
      for (let quiet = 0; quiet < 2;) {
        await s.system.services!.waiter.whenProcessed(await s.system.store.headPosition(), 5000);
        const counts = await Promise.all(queues.map((q) => q.getJobCounts('waiting', 'active', 'delayed')));
        const busy = counts.some((c) => Object.values(c).some((n) => n > 0));
        quiet = busy ? 0 : quiet + 1;
        if (busy) await new Promise((r) => setTimeout(r, 5));
      }
    };
    const timed = async (method: string, path: string, body: unknown, expected: number): Promise<number> => {
      await settle();
      const t0 = process.hrtime.bigint();
      const r = await s.request(method, path, body, {}, { conformance: false });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== expected) throw new Error(`${path}: ${r.status} ${JSON.stringify(r.body)}`);
      return ms;
    };
    const cases: { name: string; known: (i: number) => Promise<number>; unknown: (i: number) => Promise<number> }[] = [
      {
        name: 'POST /api/auth/register',
        known: (i) => timed('POST', '/api/auth/register', { email: registered[i + 5], password: TEST_PASSWORD }, 201),
        unknown: (i) => timed('POST', '/api/auth/register', { email: `fresh-${i}@example.com`, password: TEST_PASSWORD }, 201),
      },
      {
        name: 'POST /api/auth/forgot-password',
        known: (i) => timed('POST', '/api/auth/forgot-password', { email: forgetful[i + 5] }, 202),
        unknown: (i) => timed('POST', '/api/auth/forgot-password', { email: `nobody-reset-${i}@example.com` }, 202),
      },
      {
        name: 'POST /api/auth/resend-verification',
        known: (i) => timed('POST', '/api/auth/resend-verification', { email: unverified[i + 5] }, 202),
        unknown: (i) => timed('POST', '/api/auth/resend-verification', { email: `nobody-resend-${i}@example.com` }, 202),
      },
    ];
    for (const c of cases) {
      const known: number[] = [];
      const unknown: number[] = [];
      // A few of each first: JIT, pools and caches warm for both.
      for (let i = -5; i < 0; i++) {
        await c.known(i);
        await c.unknown(i);
      }
      // Which goes first alternates: whatever one request leaves behind for the next (a checkpoint
      // written late, a cache eviction) falls on both cases alike.
      for (let i = 0; i < n; i++) {
        if (i % 2) {
          known.push(await c.known(i));
          unknown.push(await c.unknown(i));
        } else {
          unknown.push(await c.unknown(i));
          known.push(await c.known(i));
        }
      }
      console.log(
        `${c.name.padEnd(36)} known ${median(known).toFixed(2)} ms   unknown ${median(unknown).toFixed(2)} ms   (median of ${n}, bcrypt cost ${cost})`,
      );
    }
  } finally {
    await s.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
