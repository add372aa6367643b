import { eventually } from '../helpers/eventually';
import { linkParams } from '../helpers/smtp';
import { bearer, startStack, TestStack, TEST_PASSWORD } from '../helpers/stack';

type Json = Record<string, unknown>;

describe('registration and email verification', () => {
  let s: TestStack;
  beforeAll(async () => {
    s = await startStack('registration');
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('registers, emails a verification link over SMTP, and the link verifies the address', async () => {
    const reg = await s.request('POST', '/api/auth/register', {
      email: 'Alice@Example.com',
      password: TEST_PASSWORD,
      firstName: 'Alice',
      lastName: 'Liddell',
    });
    expect(reg.status).toBe(201);
    expect(reg.body).toEqual({ message: expect.stringMatching(/check your email/i) });

    const blocked = await s.request('POST', '/api/auth/login', { email: 'alice@example.com', password: TEST_PASSWORD });
    expect(blocked.status).toBe(403);
    expect(blocked.body.code).toBe('EMAIL_NOT_VERIFIED');

    const mail = await s.smtp.waitFor('alice@example.com', /verify/i);
    const link = linkParams(mail);
    expect(link.url.startsWith('https://id.example.test/api/auth/verify-email?')).toBe(true);
    const verified = await s.request(
      'GET',
      `/api/auth/verify-email?token=${encodeURIComponent(link.token)}&email=${encodeURIComponent(link.email)}`,
    );
    expect(verified.status).toBe(200);

    const again = await s.request('POST', '/api/auth/verify-email', { token: link.token, email: link.email });
    expect(again.status).toBe(400);
    expect(again.body.code).toBe('INVALID_TOKEN');

    const login = await s.request<Json>('POST', '/api/auth/login', { email: 'ALICE@example.com', password: TEST_PASSWORD });
    expect(login.status).toBe(200);
    const user = login.body.user as Json;
    expect(user).toMatchObject({
      email: 'alice@example.com',
      firstName: 'Alice',
      lastName: 'Liddell',
      name: 'Alice Liddell',
      role: 'viewer',
      emailVerified: true,
      isDeleted: false,
    });
    expect(JSON.stringify(login.body)).not.toMatch(/passwordHash|\$2[aby]\$/);
  });

  it('answers a second registration of an email exactly like the first, and tells the owner by email', async () => {
    const first = await s.request('POST', '/api/auth/register', { email: 'bob@example.com', password: TEST_PASSWORD, name: 'Bob' });
    const second = await s.request('POST', '/api/auth/register', {
      email: 'BOB@example.com',
      password: 'another password 123',
      name: 'Mallory',
    });
    expect(second.status).toBe(first.status);
    expect(second.body).toEqual(first.body);
    await s.smtp.waitFor('bob@example.com', /tried to sign up/i);
    await s.projected();
    const rows = await s.system.knex('users').where({ email: 'bob@example.com' });
    expect(rows).toHaveLength(1);
    expect(rows[0].name).toBe('Bob');
  });

  it('lets exactly one of 50 concurrent registrations of one email create an account', async () => {
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        s.request('POST', '/api/auth/register', { email: 'race@example.com', password: `${TEST_PASSWORD} ${i}`, firstName: `R${i}` }),
      ),
    );
    expect(answers.every((a) => a.status === 201)).toBe(true);
    await s.projected();
    const rows = await s.system.knex('users').where({ email: 'race@example.com' });
    expect(rows).toHaveLength(1);
    const registered = await s.system.knex.raw(
      `SELECT count(*)::int AS n FROM es_events WHERE event_type = 'UserRegistered' AND data->>'email' = 'race@example.com'`,
    );
    expect(registered.rows[0].n).toBe(1);
  });

  it('resends a verification link, and only the newest one works', async () => {
    await s.request('POST', '/api/auth/register', { email: 'carol@example.com', password: TEST_PASSWORD });
    const firstMail = await s.smtp.waitFor('carol@example.com', /verify/i);
    const resend = await s.request('POST', '/api/auth/resend-verification', { email: 'carol@example.com' });
    expect(resend.status).toBe(202);
    const unknown = await s.request('POST', '/api/auth/resend-verification', { email: 'nobody@example.com' });
    expect(unknown.status).toBe(202);
    expect(unknown.body).toEqual(resend.body);
    const deadline = Date.now() + 15000;
    while (s.smtp.to('carol@example.com').length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    const mails = s.smtp.to('carol@example.com');
    expect(mails).toHaveLength(2);
    const old = linkParams(firstMail);
    const newest = linkParams(mails[1]);
    expect((await s.request('POST', '/api/auth/verify-email', { token: old.token, email: old.email })).status).toBe(400);
    expect((await s.request('POST', '/api/auth/verify-email', { token: newest.token, email: newest.email })).status).toBe(200);
  });

  it('lists every failing field as problem+json', async () => {
    const r = await s.request('POST', '/api/auth/register', { email: 'not-an-email', password: 'short', username: '!!' });
    expect(r.status).toBe(422);
    expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(r.body.code).toBe('VALIDATION_FAILED');
    const paths = (r.body.errors as { path: string }[]).map((e) => e.path).sort();
    expect(paths).toEqual(['email', 'password', 'username']);
  });

  it('sends one email when the first SMTP attempt fails and the job is retried', async () => {
    s.smtp.failNext(1);
    await s.request('POST', '/api/auth/register', { email: 'retry@example.com', password: TEST_PASSWORD });
    await s.smtp.waitFor('retry@example.com', /verify/i);
    const job = await eventually(
      async () => (await s.system.queues.email.getCompleted()).find((j) => j.data.to === 'retry@example.com'),
      10000,
      'the completed job',
    );
    expect(job.attemptsMade).toBe(2); // one refused by SMTP, one delivered
    await new Promise((r) => setTimeout(r, 300));
    expect(s.smtp.to('retry@example.com')).toHaveLength(1);
  });
});

describe('registration with REQUIRE_EMAIL_VERIFICATION=false (the TrackIt flow)', () => {
  let s: TestStack;
  beforeAll(async () => {
    s = await startStack('regnoverify', { REQUIRE_EMAIL_VERIFICATION: 'false' });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('signs the user in at once, and the account is readable right away (read your writes)', async () => {
    const r = await s.request<Json>('POST', '/api/auth/register', { email: 'dave@example.com', password: TEST_PASSWORD, username: 'dave' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ tokenType: 'Bearer', user: { email: 'dave@example.com', username: 'dave', emailVerified: true } });
    const me = await s.request<Json>('GET', '/api/auth/me', undefined, bearer(r.body.accessToken as string));
    expect(me.status).toBe(200);
    expect((me.body.user as Json).username).toBe('dave');
  });

  it('answers 409 for a taken email and for a taken username', async () => {
    await s.request('POST', '/api/auth/register', { email: 'erin@example.com', password: TEST_PASSWORD, username: 'erin' });
    const email = await s.request('POST', '/api/auth/register', { email: 'erin@example.com', password: TEST_PASSWORD });
    expect(email.status).toBe(409);
    const username = await s.request('POST', '/api/auth/register', {
      email: 'erin2@example.com',
      password: TEST_PASSWORD,
      username: 'ERIN',
    });
    expect(username.status).toBe(409);
    expect(username.body.errors).toEqual([{ path: 'username', message: expect.any(String) }]);
    // The failed attempt gave its email back.
    const retry = await s.request('POST', '/api/auth/register', { email: 'erin2@example.com', password: TEST_PASSWORD, username: 'erin2' });
    expect(retry.status).toBe(201);
  });
});
