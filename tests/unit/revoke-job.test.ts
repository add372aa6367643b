import { SESSION_END_REASONS } from '../../src/events/user';
import { reasonOfJob, RevokeSessionsJob } from '../../src/workers/queues';

describe('the reason a revoke job carries', () => {
  it('is the reason the session streams record, as queued', () => {
    for (const reason of SESSION_END_REASONS) expect(reasonOfJob({ reason })).toBe(reason);
  });

  it('of a job queued by the version that named the event type instead reads as that version read it', () => {
    // Redis holds the job as that version wrote it; the type says otherwise.
    const legacy = (name: string) => ({ reason: name }) as unknown as Pick<RevokeSessionsJob, 'reason'>;
    expect(
      ['AllSessionsEnded', 'PasswordChanged', 'PasswordReset', 'UserDeactivated', 'RoleChanged'].map((name) => reasonOfJob(legacy(name))),
    ).toEqual(['logout-all', 'password-changed', 'password-reset', 'deactivated', 'role-changed']);
    expect(() => reasonOfJob(legacy('SessionRefreshed'))).toThrow('revoke job with an unknown reason: SessionRefreshed');
  });
});
