import { JobsOptions, Queue } from 'bullmq';

export const EMAIL_QUEUE = 'email';
export const SESSIONS_QUEUE = 'sessions';

export type EmailKind =
  | 'verify-email'
  | 'already-registered'
  | 'reset-password'
  | 'password-changed'
  | 'email-change-new'
  | 'email-change-old'
  | 'email-in-use'
  | 'account-deactivated';

/** No secrets in job data either: the processor derives a link's token from `tokenId`. */
export interface EmailJob {
  kind: EmailKind;
  to: string;
  name: string | null;
  tokenId?: string;
  /** The account a change-of-email link confirms for (the link names it). */
  userId?: string;
  newEmail?: string;
  expiresAt?: string;
}

export interface RevokeSessionsJob {
  userId: string;
  sessionIds: string[];
  reason: string;
  at: string;
}

export interface QueueSettings {
  redisUrl: string;
  prefix: string;
  attempts?: number;
  backoffMs?: number;
}

export const connectionOf = (redisUrl: string) => ({ url: redisUrl, maxRetriesPerRequest: null });

/** Retries with exponential backoff; completed jobs kept a week (dedupe window), failed ones kept. */
export const defaultJobOptions = (s: QueueSettings): JobsOptions => ({
  attempts: s.attempts ?? 8,
  backoff: { type: 'exponential', delay: s.backoffMs ?? 2000 },
  removeOnComplete: { age: 7 * 24 * 3600, count: 100000 },
  removeOnFail: false,
});

export class Queues {
  readonly email: Queue<EmailJob>;
  readonly sessions: Queue<RevokeSessionsJob>;

  constructor(readonly settings: QueueSettings) {
    const opts = { connection: connectionOf(settings.redisUrl), prefix: settings.prefix, defaultJobOptions: defaultJobOptions(settings) };
    this.email = new Queue<EmailJob>(EMAIL_QUEUE, opts);
    this.sessions = new Queue<RevokeSessionsJob>(SESSIONS_QUEUE, opts);
  }

  async close(): Promise<void> {
    await Promise.all([this.email.close(), this.sessions.close()]);
  }
}
