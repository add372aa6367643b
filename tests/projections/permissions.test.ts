import { permissionsProjection } from '../../src/projections/permissions';
import { PermissionEvent, PermissionId } from '../../src/events/permission';
import { ServiceId } from '../../src/events/service';
import { eventLog, uuid } from '../helpers/events';
import { projectionSpec } from '../helpers/projection-spec';

const spec = projectionSpec(permissionsProjection);

const ADMIN = uuid('user', 9);
const byAdmin = { actorId: ADMIN };
const [ADA, BOB] = [1, 2].map((n) => uuid('user', n));
const [BILLING, REPORTS] = [1, 2].map((n) => uuid('service', n) as ServiceId);
const [READ, WRITE, ALL] = [1, 2, 3].map((n) => uuid('permission', n) as PermissionId);

const created = (permissionId: PermissionId, name: string, serviceIds: ServiceId[]): PermissionEvent => ({
  type: 'PermissionCreated',
  data: { permissionId, name, serviceIds },
});

describe('permissions projection', () => {
  it('PermissionCreated: the permission, by whom and when, linked to each of its services', async () => {
    const log = eventLog();
    const e = log.permission(READ, created(READ, 'billing:read', [BILLING, REPORTS]), byAdmin);
    const noServices = log.permission(ALL, created(ALL, 'admin:all', []), byAdmin);
    await spec.given(e, noServices).then({
      permissions: [
        { id: READ, name: 'billing:read', created_by: ADMIN, updated_by: ADMIN, created_at: e.createdAt, updated_at: e.createdAt },
        {
          id: ALL,
          name: 'admin:all',
          created_by: ADMIN,
          updated_by: ADMIN,
          created_at: noServices.createdAt,
          updated_at: noServices.createdAt,
        },
      ],
      permission_services: [
        { permission_id: READ, service_id: BILLING, created_by: ADMIN, created_at: e.createdAt },
        { permission_id: READ, service_id: REPORTS, created_by: ADMIN, created_at: e.createdAt },
      ],
    });
  });

  it('PermissionUpdated: a rename; a new service set drops the services it lacks, adds the new ones, keeps the others as they were', async () => {
    const log = eventLog();
    const c = log.permission(READ, created(READ, 'billing:read', [BILLING]), byAdmin);
    const renamed = log.permission(
      READ,
      { type: 'PermissionUpdated', data: { name: 'billing:view', previousName: 'billing:read' } },
      { actorId: ADA },
    );
    const moved = log.permission(READ, { type: 'PermissionUpdated', data: { serviceIds: [REPORTS, BILLING] } }, { actorId: BOB });
    const narrowed = log.permission(READ, { type: 'PermissionUpdated', data: { serviceIds: [REPORTS] } });
    await spec.given(c, renamed).then({
      permissions: [{ name: 'billing:view', created_by: ADMIN, created_at: c.createdAt, updated_by: ADA, updated_at: renamed.createdAt }],
      permission_services: [{ service_id: BILLING, created_at: c.createdAt }],
    });
    await spec.given(c, renamed, moved).then({
      permissions: [{ name: 'billing:view', updated_by: BOB }],
      permission_services: [
        { service_id: BILLING, created_at: c.createdAt },
        { service_id: REPORTS, created_at: moved.createdAt },
      ],
    });
    await spec.given(c, renamed, moved, narrowed).then({ permission_services: [{ service_id: REPORTS, created_at: moved.createdAt }] });
  });

  it('PermissionDeleted: the permission goes, with its service links and its grants; others stay', async () => {
    const log = eventLog();
    await spec
      .given(
        log.permission(READ, created(READ, 'billing:read', [BILLING])),
        log.permission(WRITE, created(WRITE, 'billing:write', [BILLING])),
        log.userGrants(ADA, { type: 'UserPermissionsSet', data: { permissionIds: [READ, WRITE] } }),
        log.permission(READ, { type: 'PermissionDeleted', data: { name: 'billing:read' } }),
      )
      .then({
        permissions: [{ id: WRITE }],
        permission_services: [{ permission_id: WRITE, service_id: BILLING }],
        user_permissions: [{ user_id: ADA, permission_id: WRITE }],
      });
  });

  it('ServiceDeleted: no permission lists the service any more; the permissions stay', async () => {
    const log = eventLog();
    await spec
      .given(
        log.permission(READ, created(READ, 'billing:read', [BILLING, REPORTS])),
        log.permission(WRITE, created(WRITE, 'billing:write', [BILLING])),
        log.service(BILLING, { type: 'ServiceDeleted', data: { name: 'Billing' } }),
      )
      .then({ permissions: [{ id: READ }, { id: WRITE }], permission_services: [{ permission_id: READ, service_id: REPORTS }] });
  });

  it('UserPermissionsSet: the whole set a user holds; a grant kept from one set to the next keeps its time', async () => {
    const log = eventLog();
    const first = log.userGrants(ADA, { type: 'UserPermissionsSet', data: { permissionIds: [READ, WRITE] } }, byAdmin);
    const bobs = log.userGrants(BOB, { type: 'UserPermissionsSet', data: { permissionIds: [READ] } }, byAdmin);
    const second = log.userGrants(ADA, { type: 'UserPermissionsSet', data: { permissionIds: [WRITE, ALL] } }, byAdmin);
    await spec.given(first, bobs, second).then({
      user_permissions: [
        { user_id: ADA, permission_id: WRITE, created_at: first.createdAt },
        { user_id: ADA, permission_id: ALL, created_at: second.createdAt },
        { user_id: BOB, permission_id: READ, created_at: bobs.createdAt },
      ],
    });
  });

  it('UserPermissionsSet with no permissions takes them all away; one brought back is granted anew', async () => {
    const log = eventLog();
    const first = log.userGrants(ADA, { type: 'UserPermissionsSet', data: { permissionIds: [READ] } });
    const none = log.userGrants(ADA, { type: 'UserPermissionsSet', data: { permissionIds: [] } });
    const again = log.userGrants(ADA, { type: 'UserPermissionsSet', data: { permissionIds: [READ] } });
    await spec.given(first, none).then({ user_permissions: [] });
    await spec.given(first, none, again).then({ user_permissions: [{ permission_id: READ, created_at: again.createdAt }] });
  });

  it('however the log is cut into batches, the rows are those of applying its events one by one', async () => {
    const log = eventLog();
    const [s1, s2] = [3, 4].map((n) => uuid('service', n) as ServiceId);
    const [p1, p2, p3] = [4, 5, 6].map((n) => uuid('permission', n) as PermissionId);
    const [u1, u2] = [3, 4].map((n) => uuid('user', n));
    const grants = (userId: string, permissionIds: PermissionId[]) =>
      log.userGrants(userId, { type: 'UserPermissionsSet', data: { permissionIds } }, byAdmin);
    const events = [
      log.permission(p1, created(p1, 'read:reports', [s1]), byAdmin),
      log.permission(p2, created(p2, 'write:reports', [s1, s2]), byAdmin),
      grants(u1, [p1]),
      log.permission(p3, created(p3, 'admin:reports', []), byAdmin),
      grants(u1, [p1, p2]),
      grants(u2, [p2, p3]),
      grants(u1, [p2]),
      grants(u1, [p1, p2]),
      grants(u2, []),
      grants(u2, [p3]),
      log.permission(
        p3,
        { type: 'PermissionUpdated', data: { name: 'admin:all', previousName: 'admin:reports', serviceIds: [s2] } },
        byAdmin,
      ),
      grants(u1, [p1, p2, p3]),
    ];
    const rows = await spec.given(...events).sameRowsHoweverCut([1, 2, 3, 7, events.length]);
    expect(rows.user_permissions).toHaveLength(4);
  });
});
