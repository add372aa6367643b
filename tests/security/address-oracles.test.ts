import { randomUUID } from 'node:crypto';
import { registerUser } from '../../src/commands/user/account';
import { eventually } from '../helpers/eventually';
import { startStack, TestStack, TEST_PASSWORD } from '../helpers/stack';

type Json = Record<string, unknown>;

/**
 * Routes that answer the same for any address must also do the same work before answering, or
 * their timing tells a registered address from an unknown one (OWASP ASVS 5.0 V6.3.8). Speed is
 * not measured here (tests/tools/timing-oracles.ts does that, by hand): what is checked is the
 * structure, on an API process with no projector and no worker, where any wait on a projection
 * or any work done in the request would show.
 */
describe('the same work for a registered and an unknown address (OWASP ASVS 5.0 V6.3.8)', () => {
  let s: TestStack;
  const meta = () => ({ correlationId: randomUUID(), ip: null, userAgent: 'test', actorId: null });
  const account = (email: string, verified: boolean) =>
    registerUser(
      s.system.services!.cmd,
      { email, password: TEST_PASSWORD, username: null, firstName: null, lastName: null, name: null, profile: null, verified },
      meta(),
    );
  const eventCount = async (): Promise<number> => (await s.system.knex.raw(`SELECT count(*)::int AS n FROM es_events`)).rows[0].n;

  beforeAll(async () => {
    // A read-your-writes wait longer than a test may take: a request that waited for a projection would never answer.
    s = await startStack('oracles', { READ_YOUR_WRITES_TIMEOUT_MS: '60000' }, ['api']);
    await account('known@example.com', true);
    await account('pending@example.com', false);
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('sign-up answers a registered and a new address alike, neither waiting for a projection (none runs here)', async () => {
    const known = await s.request('POST', '/api/auth/register', { email: 'known@example.com', password: TEST_PASSWORD });
    const fresh = await s.request('POST', '/api/auth/register', { email: 'fresh@example.com', password: TEST_PASSWORD });
    expect(known.status).toBe(201);
    expect(fresh.status).toBe(201);
    expect(fresh.body).toEqual(known.body);
    // The owner's notice is queued, not written while answering.
    const jobs = await s.system.queues.account.getJobs(['waiting']);
    expect(jobs.map((j) => [j.name, j.data.email])).toEqual([['registration-attempt', 'known@example.com']]);
  }, 30000);

  it('forgot-password and resend-verification queue one job of one kind for either address, and write nothing while answering; the worker then mails only the registered ones', async () => {
    const before = await eventCount();
    const cases: [string, string, string][] = [
      ['/api/auth/forgot-password', 'known@example.com', 'reset-password'],
      ['/api/auth/forgot-password', 'nobody@example.com', 'reset-password'],
      ['/api/auth/resend-verification', 'pending@example.com', 'resend-verification'],
      ['/api/auth/resend-verification', 'stranger@example.com', 'resend-verification'],
    ];
    const answers: Json[] = [];
    for (const [path, email] of cases) {
      const r = await s.request<Json>('POST', path, { email });
      expect([path, email, r.status]).toEqual([path, email, 202]);
      answers.push({ path, body: r.body });
    }
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[3]).toEqual(answers[2]);
    expect(await eventCount()).toBe(before);
    const queued = (await s.system.queues.account.getJobs(['waiting'])).filter((j) => j.name !== 'registration-attempt');
    const shape = (email: string) => {
      const job = queued.find((j) => j.data.email === email);
      return job ? [job.name, Object.keys(job.data).sort(), Object.keys('token' in job.data ? job.data.token : {}).sort()] : null;
    };
    for (const [path, email, kind] of cases)
      expect([path, email, shape(email)]).toEqual([
        path,
        email,
        [kind, ['email', 'kind', 'meta', 'token'], ['expiresAt', 'tokenHash', 'tokenId']],
      ]);

    // A worker (and the projector whose reactor turns events into mail) takes the jobs: only registered addresses hear anything.
    await s.startAnother(['projector', 'worker']);
    await s.smtp.waitFor('known@example.com', /reset/i);
    await s.smtp.waitFor('known@example.com', /tried to sign up/i);
    await s.smtp.waitFor('pending@example.com', /verify/i);
    await eventually(
      async () => (await s.system.queues.account.getJobCounts('completed')).completed === 5,
      15000,
      'every account job done',
    );
    await eventually(
      async () => (await s.system.queues.email.getJobCounts('waiting', 'active', 'delayed')).waiting === 0,
      15000,
      'the mail queue drained',
    );
    expect(s.smtp.to('nobody@example.com')).toEqual([]);
    expect(s.smtp.to('stranger@example.com')).toEqual([]);
  });
});
