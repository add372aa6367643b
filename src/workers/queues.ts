import { JobsOptions, Queue } from 'bullmq';
import type { RequestMeta } from '../commands/context';
import { OneTimeToken, SESSION_END_REASONS, SessionEndReason } from '../events/user';

export const EMAIL_QUEUE = 'email';
export const SESSIONS_QUEUE = 'sessions';
export const ACCOUNT_QUEUE = 'account';

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

/**
 * Requests answered the same whatever the address, whose work depends on it: the route queues
 * one job, the same for a registered and an unknown address, and the worker looks the address
 * up (so neither the answer nor its timing tells which it was). Tokens come made (only their id
 * and hash), so a retried job records nothing twice.
 */
export type AccountJob =
  | { kind: 'registration-attempt'; userId: string; email: string; at: string; meta: RequestMeta }
  | { kind: 'reset-password'; email: string; token: OneTimeToken; meta: RequestMeta }
  | { kind: 'resend-verification'; email: string; token: OneTimeToken; meta: RequestMeta };

export interface RevokeSessionsJob {
  userId: string;
  sessionIds: string[];
  /** As the user's event says it (src/events/session-ends.ts); the session streams record the same. */
  reason: SessionEndReason;
  at: string;
}

/**
 * Jobs queued before the reason was a SessionEndReason named the event type instead (they retry
 * for minutes after an upgrade); read the way that version read them.
 */
const LEGACY_REASONS: Readonly<Record<string, SessionEndReason>> = {
  AllSessionsEnded: 'logout-all',
  PasswordChanged: 'password-changed',
  PasswordReset: 'password-reset',
  UserDeactivated: 'deactivated',
  RoleChanged: 'role-changed',
};

const isSessionEndReason = (v: string): v is SessionEndReason => (SESSION_END_REASONS as readonly string[]).includes(v);

/** The reason of a job as stored in Redis, whichever version queued it. */
export function reasonOfJob(job: Pick<RevokeSessionsJob, 'reason'>): SessionEndReason {
  const stored: string = job.reason;
  if (isSessionEndReason(stored)) return stored;
  const legacy = LEGACY_REASONS[stored];
  if (!legacy) throw new Error(`revoke job with an unknown reason: ${stored}`);
  return legacy;
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
  readonly account: Queue<AccountJob>;

  constructor(readonly settings: QueueSettings) {
    const opts = { connection: connectionOf(settings.redisUrl), prefix: settings.prefix, defaultJobOptions: defaultJobOptions(settings) };
    this.email = new Queue<EmailJob>(EMAIL_QUEUE, opts);
    this.sessions = new Queue<RevokeSessionsJob>(SESSIONS_QUEUE, opts);
    this.account = new Queue<AccountJob>(ACCOUNT_QUEUE, opts);
  }

  /** Every queue, for dashboards and metrics. */
  get all(): Queue[] {
    return [this.email, this.sessions, this.account];
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((q) => q.close()));
  }
}
