import { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface CaughtMail {
  to: string[];
  subject: string;
  raw: string;
  /** The body with quoted-printable soft breaks undone, for finding links. */
  text: string;
}

/** A real SMTP server that keeps what it receives; `failNext` makes it refuse messages. */
export class SmtpCatcher {
  readonly mails: CaughtMail[] = [];
  private failures = 0;
  private server: SMTPServer;
  port = 0;

  constructor() {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          if (this.failures > 0) {
            this.failures--;
            const err = new Error('Temporary failure, try again later') as Error & { responseCode: number };
            err.responseCode = 451;
            callback(err);
            return;
          }
          const raw = Buffer.concat(chunks).toString('utf8');
          const subject = /^Subject: (.*)$/im.exec(raw)?.[1]?.trim() ?? '';
          const text = raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
          this.mails.push({ to: session.envelope.rcptTo.map((r) => r.address), subject, raw, text });
          callback();
        });
      },
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as AddressInfo).port;
    return `smtp://127.0.0.1:${this.port}`;
  }

  failNext(n: number): void {
    this.failures = n;
  }

  to(address: string): CaughtMail[] {
    return this.mails.filter((m) => m.to.includes(address));
  }

  /** Waits until a mail to `address` matching `subject` has arrived (mail is asynchronous by design). */
  async waitFor(address: string, subject: RegExp, timeoutMs = 15000): Promise<CaughtMail> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.to(address).find((x) => subject.test(x.subject));
      if (m) return m;
      if (Date.now() > deadline)
        throw new Error(
          `No mail to ${address} matching ${subject} within ${timeoutMs} ms (got: ${this.mails.map((x) => `${x.to}: ${x.subject}`).join('; ')})`,
        );
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Pulls `token` and `email` out of the first link in a mail. */
export function linkParams(mail: CaughtMail): { token: string; email: string; url: string } {
  const m = /(https?:\/\/[^\s"<>]+\?token=[^\s"<>]+)/.exec(mail.text);
  if (!m) throw new Error(`No link in mail: ${mail.text.slice(0, 500)}`);
  const url = new URL(m[1].replace(/&amp;/g, '&'));
  return { url: url.toString(), token: url.searchParams.get('token') ?? '', email: url.searchParams.get('email') ?? '' };
}
