import { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { Logger } from 'pino';
import { handle } from '../commands/handle';
import { sessionDecider } from '../commands/session/decider';
import { EventStore } from '../eventstore/types';
import { sessionStream } from '../events/session';
import { RevocationList } from '../infra/revocations';
import { renderEmail, TemplateContext } from './emails/templates';
import { Mailer } from './mailer';
import { noteRegistrationAttempt, requestPasswordReset, resendVerification } from '../commands/user/account';
import {
  AccountJob,
  ACCOUNT_QUEUE,
  connectionOf,
  EMAIL_QUEUE,
  EmailJob,
  QueueSettings,
  reasonOfJob,
  RevokeSessionsJob,
  SESSIONS_QUEUE,
} from './queues';

export interface ProcessorDeps {
  settings: QueueSettings;
  redis: Redis;
  mailer: Mailer;
  templates: TemplateContext;
  store: EventStore;
  revocations: RevocationList;
  log: Logger;
  concurrency?: number;
}

/** Starts the email, session-revocation and account-request workers. Each is idempotent per job. */
export function startProcessors(d: ProcessorDeps): Worker[] {
  const common = { connection: connectionOf(d.settings.redisUrl), prefix: d.settings.prefix, concurrency: d.concurrency ?? 4 };

  const email = new Worker<EmailJob>(
    EMAIL_QUEUE,
    async (job: Job<EmailJob>) => {
      // A retry after a send that succeeded but was not acknowledged must not send again.
      const sentKey = `${d.settings.prefix}:email-sent:${job.id}`;
      if (await d.redis.exists(sentKey)) return 'already sent';
      const delivery = await d.mailer.send(renderEmail(job.data, d.templates));
      await d.redis.set(sentKey, '1', 'EX', 30 * 24 * 3600);
      d.log.info({ jobId: job.id, kind: job.data.kind }, delivery === 'sent' ? 'email sent' : 'email logged; SMTP_URL not set');
      return delivery;
    },
    common,
  );

  const sessions = new Worker<RevokeSessionsJob>(
    SESSIONS_QUEUE,
    async (job: Job<RevokeSessionsJob>) => {
      await d.revocations.revokeSessions(job.data.sessionIds);
      for (const id of job.data.sessionIds) {
        await handle(
          d.store,
          sessionStream(id),
          sessionDecider,
          { type: 'RevokeSession', reason: reasonOfJob(job.data), now: job.data.at },
          { causationId: String(job.id), actorId: job.data.userId },
        );
      }
      return job.data.sessionIds.length;
    },
    common,
  );

  const account = new Worker<AccountJob>(
    ACCOUNT_QUEUE,
    async (job: Job<AccountJob>) => {
      const j = job.data;
      // A retried job decides again on the stream: what it recorded the first time, it does not record twice.
      switch (j.kind) {
        case 'registration-attempt':
          return noteRegistrationAttempt(d.store, j.userId, j.email, j.at, j.meta);
        case 'reset-password':
          return requestPasswordReset(d.store, j.email, j.token, j.meta);
        case 'resend-verification':
          return resendVerification(d.store, j.email, j.token, j.meta);
      }
    },
    common,
  );

  for (const w of [email, sessions, account]) {
    w.on('failed', (job, err) => d.log.warn({ err, jobId: job?.id, queue: w.name, attempts: job?.attemptsMade }, 'job failed'));
    w.on('error', (err) => d.log.error({ err, queue: w.name }, 'worker error'));
  }
  return [email, sessions, account];
}
