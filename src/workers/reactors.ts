import { EventStore } from '../eventstore/types';
import { load } from '../commands/handle';
import { userDecider } from '../commands/user/decider';
import { ownerOf } from '../commands/claims';
import { unhandled } from '../events/registry';
import { SESSION_ENDING_USER_EVENTS, sessionsEndedBy } from '../events/session-ends';
import { userIdOf, userStream } from '../events/user';
import { reactor, Reactor } from '../projections/projection';
import { EmailJob, Queues } from './queues';

/**
 * Events to jobs. A job's id is the id of the event that caused it (plus a suffix when one event
 * causes two), so a retried or replayed event never enqueues a second job.
 */
export function emailReactor(queues: Queues, store: EventStore): Reactor {
  const enqueue = (id: string, job: EmailJob) => queues.email.add(job.kind, job, { jobId: id });
  const profileOf = async (e: { streamId: string }) => {
    const { state } = await load(store, e.streamId, userDecider);
    return { email: state.email, name: state.name ?? state.firstName };
  };
  return reactor({
    name: 'reactor:email',
    handles: [
      'EmailVerificationRequested',
      'RegistrationAttemptedOnExistingAccount',
      'PasswordResetRequested',
      'PasswordChanged',
      'EmailChangeRequested',
      'UserDeactivated',
    ],
    async react(e) {
      switch (e.type) {
        case 'EmailVerificationRequested': {
          const { name } = await profileOf(e);
          await enqueue(e.id, { kind: 'verify-email', to: e.data.email, name, tokenId: e.data.tokenId, expiresAt: e.data.expiresAt });
          return;
        }
        case 'RegistrationAttemptedOnExistingAccount': {
          const { name } = await profileOf(e);
          await enqueue(e.id, { kind: 'already-registered', to: e.data.email, name });
          return;
        }
        case 'PasswordResetRequested': {
          const { name } = await profileOf(e);
          await enqueue(e.id, { kind: 'reset-password', to: e.data.email, name, tokenId: e.data.tokenId, expiresAt: e.data.expiresAt });
          return;
        }
        case 'PasswordChanged': {
          const { email, name } = await profileOf(e);
          await enqueue(e.id, { kind: 'password-changed', to: email, name });
          return;
        }
        case 'EmailChangeRequested': {
          const { name } = await profileOf(e);
          const userId = userIdOf(e.streamId);
          // The requester was answered alike either way; an address that is another account's
          // gets a notice for its owner instead of a link (which could not be confirmed anyway).
          const holder = await ownerOf(store, 'email', e.data.newEmail);
          if (holder !== null && holder !== userId) {
            await enqueue(`${e.id}-new`, {
              kind: 'email-in-use',
              to: e.data.newEmail,
              name: (await load(store, userStream(holder), userDecider)).state.name,
            });
          } else {
            await enqueue(`${e.id}-new`, {
              kind: 'email-change-new',
              to: e.data.newEmail,
              name,
              tokenId: e.data.tokenId,
              userId,
              expiresAt: e.data.expiresAt,
            });
          }
          await enqueue(`${e.id}-old`, { kind: 'email-change-old', to: e.data.oldEmail, name, newEmail: e.data.newEmail });
          return;
        }
        case 'UserDeactivated': {
          const { email, name } = await profileOf(e);
          await enqueue(e.id, { kind: 'account-deactivated', to: email, name });
          return;
        }
        default:
          return unhandled(e);
      }
    },
  });
}

/** Every event that ends sessions becomes one revoke job (the card's "workers revoke refresh tokens"). */
export function sessionsReactor(queues: Queues): Reactor {
  return reactor({
    name: 'reactor:sessions',
    handles: SESSION_ENDING_USER_EVENTS,
    async react(e) {
      const { sessionIds, reason } = sessionsEndedBy(e);
      // SessionEnded carries no time of its own: the event's is the moment.
      const at = e.type === 'SessionEnded' ? e.createdAt.toISOString() : e.data.at;
      if (sessionIds.length > 0)
        await queues.sessions.add('revoke', { userId: userIdOf(e.streamId), sessionIds, reason, at }, { jobId: e.id });
    },
  });
}
