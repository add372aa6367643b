import { auditProjection } from '../../src/projections/audit';
import { ApiKeyId } from '../../src/events/api-key';
import { ContentId } from '../../src/events/content';
import { PermissionId } from '../../src/events/permission';
import { ServiceId } from '../../src/events/service';
import { SessionId, UserId } from '../../src/events/user';
import { eventLog, iso, userRegistered, uuid } from '../helpers/events';
import { projectionSpec } from '../helpers/projection-spec';

const spec = projectionSpec(auditProjection);

const ADMIN = uuid('user', 9) as UserId;

describe('audit projection', () => {
  it('records every event of every kind, one row each in log order, with whom it is about', async () => {
    const log = eventLog();
    const ada = uuid('user', 1) as UserId;
    const session = uuid('session', 1) as SessionId;
    const key = uuid('apiKey', 1) as ApiKeyId;
    const piece = uuid('content', 1) as ContentId;
    const service = uuid('service', 1) as ServiceId;
    const permission = uuid('permission', 1) as PermissionId;
    const token = { tokenId: 't1', tokenHash: 'h1', expiresAt: iso(3600) };
    const about = (subject: string | null, e: ReturnType<typeof log.user>) => ({ e, subject });
    const story = [
      about(ada, log.claim('email', 'ada@example.com', { type: 'ValueClaimed', data: { kind: 'email', userId: ada, at: iso(1) } })),
      about(ada, log.user(ada, userRegistered(ada))),
      about(
        ada,
        log.user(ada, { type: 'EmailVerificationRequested', data: { email: 'ada@example.com', ...token, purpose: 'registration' } }),
      ),
      about(ada, log.user(ada, { type: 'EmailVerified', data: { email: 'ada@example.com', previousEmail: null } })),
      about(ada, log.user(ada, { type: 'RegistrationAttemptedOnExistingAccount', data: { email: 'ada@example.com', at: iso(5) } })),
      about(ada, log.user(ada, { type: 'UserLoggedIn', data: { sessionId: session, deviceId: 'laptop', at: iso(6) } })),
      about(
        ada,
        log.session(session, {
          type: 'SessionStarted',
          data: {
            sessionId: session,
            userId: ada,
            deviceId: 'laptop',
            refreshTokenHash: 'r0',
            ip: null,
            userAgent: null,
            startedAt: iso(7),
            absoluteExpiresAt: iso(86_400),
          },
        }),
      ),
      about(ada, log.session(session, { type: 'SessionRefreshed', data: { previousTokenHash: 'r0', refreshTokenHash: 'r1', at: iso(8) } })),
      about(ada, log.session(session, { type: 'SessionRevoked', data: { reason: 'logout', at: iso(9) } })),
      about(ada, log.user(ada, { type: 'SessionEnded', data: { sessionId: session, reason: 'logout' } })),
      about(ada, log.user(ada, { type: 'AllSessionsEnded', data: { reason: 'logout-all', at: iso(11), endedSessionIds: [session] } })),
      about(
        ada,
        log.user(ada, { type: 'PasswordChanged', data: { passwordHash: 'p1', at: iso(12), keepSessionId: null, endedSessionIds: [] } }),
      ),
      about(ada, log.user(ada, { type: 'PasswordResetRequested', data: { email: 'ada@example.com', ...token } })),
      about(ada, log.user(ada, { type: 'PasswordReset', data: { passwordHash: 'p2', at: iso(14), endedSessionIds: [] } })),
      about(
        ada,
        log.user(ada, { type: 'ProfileUpdated', data: { changes: [{ field: 'firstName', oldValue: 'Ada', newValue: 'Augusta' }] } }),
      ),
      about(
        ada,
        log.user(ada, { type: 'EmailChangeRequested', data: { oldEmail: 'ada@example.com', newEmail: 'ada@new.example', ...token } }),
      ),
      about(ada, log.user(ada, { type: 'UserDeactivated', data: { at: iso(17), by: 'admin', endedSessionIds: [] } })),
      about(ada, log.user(ada, { type: 'UserRestored', data: { at: iso(18) } })),
      about(ada, log.user(ada, { type: 'RoleChanged', data: { from: 'viewer', to: 'editor', at: iso(19), endedSessionIds: [] } })),
      about(ada, log.claim('email', 'ada@example.com', { type: 'ValueReleased', data: { kind: 'email', userId: ada, at: iso(20) } })),
      about(
        ada,
        log.apiKey(key, {
          type: 'ApiKeyCreated',
          data: {
            ownerId: ada,
            name: 'CI',
            prefix: 'iam_ab',
            keyHash: 'k',
            permissionIds: [],
            scopes: ['read'],
            expiresAt: null,
            createdAt: iso(21),
          },
        }),
      ),
      about(ada, log.apiKey(key, { type: 'ApiKeyRevoked', data: { at: iso(22) } })),
      about(null, log.content(piece, { type: 'ContentCreated', data: { title: 'T', body: 'B', authorId: ada } })),
      about(null, log.content(piece, { type: 'ContentUpdated', data: { changes: { title: 'T2' } } })),
      about(null, log.content(piece, { type: 'ContentDeleted', data: { at: iso(25) } })),
      about(
        null,
        log.claim('serviceName', 'billing', { type: 'ValueClaimed', data: { kind: 'serviceName', userId: service, at: iso(26) } }),
      ),
      about(null, log.service(service, { type: 'ServiceCreated', data: { serviceId: service, name: 'Billing', description: null } })),
      about(
        null,
        log.service(service, {
          type: 'ServiceUpdated',
          data: { changes: [{ field: 'description', oldValue: null, newValue: 'Invoices' }] },
        }),
      ),
      about(null, log.catalogueSeed({ type: 'CatalogueSeeded', data: { serviceIds: [service], at: iso(29) } })),
      about(
        null,
        log.permission(permission, {
          type: 'PermissionCreated',
          data: { permissionId: permission, name: 'billing:read', serviceIds: [service] },
        }),
      ),
      about(null, log.permission(permission, { type: 'PermissionUpdated', data: { serviceIds: [] } })),
      about(ada, log.userGrants(ada, { type: 'UserPermissionsSet', data: { permissionIds: [permission] } })),
      about(null, log.permission(permission, { type: 'PermissionDeleted', data: { name: 'billing:read' } })),
      about(null, log.service(service, { type: 'ServiceDeleted', data: { name: 'Billing' } })),
    ];
    // The story holds every type the projection handles, so a new event type needs a line here.
    expect(new Set(story.map(({ e }) => e.type))).toEqual(new Set(auditProjection.handles));
    await spec.given(...story.map(({ e }) => e)).then({
      audit_log: story.map(({ e, subject }, i) => ({
        seq: String(i + 1),
        event_id: e.id,
        type: e.type,
        stream_id: e.streamId,
        subject_id: subject,
        at: e.createdAt,
      })),
    });
  });

  it('keeps no secret, not even a hash, at any depth; the rest of the data stays', async () => {
    const log = eventLog();
    const ada = uuid('user', 2) as UserId;
    const session = uuid('session', 2) as SessionId;
    const events = [
      log.user(ada, userRegistered(ada)),
      log.user(ada, {
        type: 'PasswordResetRequested',
        data: { email: 'ada@example.com', tokenId: 'token-id', tokenHash: 'token-hash', expiresAt: iso(60) },
      }),
      log.session(session, { type: 'SessionRefreshed', data: { previousTokenHash: 'old-hash', refreshTokenHash: 'new-hash', at: iso(3) } }),
      log.apiKey(uuid('apiKey', 2), {
        type: 'ApiKeyCreated',
        data: { ownerId: ada, name: 'CI', prefix: 'iam_ab', keyHash: 'key-hash', permissionIds: [], expiresAt: null, createdAt: iso(4) },
      }),
      // A profile is the user's own JSON: a key named like a secret goes too.
      log.user(ada, {
        type: 'ProfileUpdated',
        data: { changes: [{ field: 'profile', oldValue: null, newValue: { theme: 'dark', nested: [{ passwordHash: 'x', n: 1 }] } }] },
      }),
    ];
    await spec.given(...events).then({
      audit_log: [
        {
          type: 'UserRegistered',
          data: {
            userId: ada,
            email: 'ada@example.com',
            username: null,
            firstName: 'Ada',
            lastName: 'Lovelace',
            name: null,
            profile: null,
            role: 'viewer',
            emailVerified: false,
            registeredAt: iso(0),
          },
        },
        { type: 'PasswordResetRequested', data: { email: 'ada@example.com', expiresAt: iso(60) } },
        { type: 'SessionRefreshed', data: { at: iso(3) } },
        {
          type: 'ApiKeyCreated',
          data: { ownerId: ada, name: 'CI', prefix: 'iam_ab', permissionIds: [], expiresAt: null, createdAt: iso(4) },
        },
        {
          type: 'ProfileUpdated',
          data: { changes: [{ field: 'profile', oldValue: null, newValue: { theme: 'dark', nested: [{ n: 1 }] } }] },
        },
      ],
    });
  });

  it('who and from where: actor and API key when they are ids, the IP and user agent cut to length', async () => {
    const log = eventLog();
    const ada = uuid('user', 3) as UserId;
    const key = uuid('apiKey', 3);
    const ua = 'Mozilla/5.0 '.repeat(60);
    await spec
      .given(
        log.user(
          ada,
          { type: 'ProfileUpdated', data: { changes: [] } },
          { actorId: ADMIN, apiKeyId: key, ip: '2001:db8::1', userAgent: ua },
        ),
        log.user(ada, { type: 'ProfileUpdated', data: { changes: [] } }, { actorId: 'system', apiKeyId: 'not-an-id', ip: 'x'.repeat(100) }),
        log.user(ada, { type: 'ProfileUpdated', data: { changes: [] } }),
      )
      .then({
        audit_log: [
          { actor_id: ADMIN, api_key_id: key, ip: '2001:db8::1', user_agent: ua.slice(0, 512) },
          { actor_id: null, api_key_id: null, ip: 'x'.repeat(64), user_agent: null },
          { actor_id: null, api_key_id: null, ip: null, user_agent: null },
        ],
      });
  });

  it("a username claim is about its user; a permission name's claim about nobody", async () => {
    const log = eventLog();
    const ada = uuid('user', 4);
    await spec
      .given(
        log.claim('username', 'ada', { type: 'ValueClaimed', data: { kind: 'username', userId: ada, at: iso(1) } }),
        log.claim('permissionName', 'billing:read', {
          type: 'ValueClaimed',
          data: { kind: 'permissionName', userId: uuid('permission', 4), at: iso(2) },
        }),
      )
      .then({
        audit_log: [
          { type: 'ValueClaimed', subject_id: ada },
          { type: 'ValueClaimed', subject_id: null },
        ],
      });
  });
});
