import { eventually } from '../helpers/eventually';
import { startStack, TestStack, TEST_PASSWORD } from '../helpers/stack';

interface LogLine {
  msg: string;
  kind?: string;
  mail?: { to: string };
}

/** Without SMTP_URL (a first run in development) mail goes to the log, and the log says so. */
describe('mail without SMTP_URL', () => {
  let s: TestStack;
  beforeAll(async () => {
    s = await startStack('maillog', { SMTP_URL: '' });
  });
  afterAll(async () => {
    await s?.stop();
  });

  const lines = (): LogLine[] => s.logs.flatMap((l) => l.split('\n').filter(Boolean)).map((l) => JSON.parse(l) as LogLine);

  it('logs the mail, then "email logged; SMTP_URL not set", never "email sent"', async () => {
    expect(s.config.smtpUrl).toBeNull();
    expect((await s.request('POST', '/api/auth/register', { email: 'nosmtp@example.com', password: TEST_PASSWORD })).status).toBe(201);
    const done = await eventually(() => lines().find((l) => l.kind === 'verify-email'), 15000, 'the mail job to finish');
    expect(done.msg).toBe('email logged; SMTP_URL not set');
    expect(lines().find((l) => l.mail?.to === 'nosmtp@example.com')).toBeDefined();
    expect(lines().filter((l) => l.msg === 'email sent')).toEqual([]);
    expect(s.smtp.mails).toEqual([]);
  });
});
