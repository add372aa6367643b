import nodemailer, { Transporter } from 'nodemailer';
import { Logger } from 'pino';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** What became of a mail: handed to the SMTP server, or only written to the log (no SMTP_URL). */
export type Delivery = 'sent' | 'logged';

export interface Mailer {
  send(mail: Mail): Promise<Delivery>;
  close(): void;
}

/**
 * SMTP_URL set: real SMTP. Unset: the message is written to the log (development). With
 * `logContent` false (production) only its recipient and subject are: a body carries one-time
 * links, which must not reach a log.
 */
export function createMailer(smtpUrl: string | null, from: string, log: Logger, opts: { logContent: boolean }): Mailer {
  if (!smtpUrl) {
    return {
      async send(mail) {
        const logged = opts.logContent ? { to: mail.to, subject: mail.subject, text: mail.text } : { to: mail.to, subject: mail.subject };
        log.info(
          { mail: logged },
          opts.logContent
            ? 'email (SMTP_URL not set, logged instead of sent)'
            : 'email NOT sent: SMTP_URL is not set (content withheld from the log)',
        );
        return 'logged';
      },
      close() {},
    };
  }
  const transport: Transporter = nodemailer.createTransport(smtpUrl);
  return {
    async send(mail) {
      await transport.sendMail({ from, ...mail });
      return 'sent';
    },
    close() {
      transport.close();
    },
  };
}
