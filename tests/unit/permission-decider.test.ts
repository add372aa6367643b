import { DomainError } from '../../src/errors';
import { isLivePermission, PermissionCommand, permissionDecider } from '../../src/commands/permission/decider';
import { grantsDecider, GrantsCommand } from '../../src/commands/permission/grants-decider';
import { PermissionEvent, PermissionId, UserGrantsEvent } from '../../src/events/permission';
import { ServiceId } from '../../src/events/service';
import { deciderSpec } from './decider-spec';

const given = deciderSpec(permissionDecider);

const P = 'a1b2c3d4-0000-4000-8000-000000000001' as PermissionId;
const S1 = 'b1b2c3d4-0000-4000-8000-000000000001' as ServiceId;
const S2 = 'b1b2c3d4-0000-4000-8000-000000000002' as ServiceId;
const S3 = 'b1b2c3d4-0000-4000-8000-000000000003' as ServiceId;

const created: PermissionEvent = { type: 'PermissionCreated', data: { permissionId: P, name: 'billing:read', serviceIds: [S1, S2] } };
const create = (over: Partial<Extract<PermissionCommand, { type: 'CreatePermission' }>> = {}): PermissionCommand => ({
  type: 'CreatePermission',
  permissionId: P,
  name: 'billing:read',
  serviceIds: [S1, S2],
  unknownServiceIds: [],
  ...over,
});
const update = (over: { name?: string; serviceIds?: ServiceId[]; unknownServiceIds?: string[] }): PermissionCommand => ({
  type: 'UpdatePermission',
  unknownServiceIds: [],
  ...over,
});
const deleted: PermissionEvent = { type: 'PermissionDeleted', data: { name: 'billing:read' } };

/** The field errors a decision fails with. */
const fieldErrors = (history: PermissionEvent[], c: PermissionCommand): string[] => {
  try {
    permissionDecider.decide(c, history.reduce(permissionDecider.evolve, permissionDecider.initialState()));
  } catch (e) {
    if (e instanceof DomainError) return (e.errors ?? []).map((x) => x.path);
    throw e;
  }
  throw new Error('expected the decision to fail');
};

describe('permission decider', () => {
  describe('CreatePermission', () => {
    it('creates a permission over existing services', () => {
      given([]).when(create()).then([created]);
    });

    it('accepts the documented name forms', () => {
      for (const name of ['abc', 'Reports.Export', 'billing:read', 'a-b_c.d:e', 'x'.repeat(64)]) {
        given([])
          .when(create({ name }))
          .then([{ type: 'PermissionCreated', data: { permissionId: P, name, serviceIds: [S1, S2] } }]);
      }
    });

    it('refuses a bad name: too short, too long, not starting with a letter, other characters', () => {
      for (const name of ['ab', 'x'.repeat(65), '1abc', ':abc', 'has space', 'emoji😀', '']) {
        given([]).when(create({ name })).then('VALIDATION_FAILED');
      }
    });

    it('refuses an empty service list', () => {
      given([])
        .when(create({ serviceIds: [] }))
        .then('VALIDATION_FAILED');
      expect(fieldErrors([], create({ serviceIds: [] }))).toEqual(['serviceIds']);
    });

    it('names each unknown and each repeated service id by its index, with a bad name too', () => {
      expect(fieldErrors([], create({ name: '9', serviceIds: [S1, S3, S1, S2], unknownServiceIds: [S3, S2] }))).toEqual([
        'name',
        'serviceIds[1]',
        'serviceIds[2]',
        'serviceIds[3]',
      ]);
    });

    it('refuses more than 100 services', () => {
      const many = Array.from({ length: 101 }, (_, i) => `b1b2c3d4-0000-4000-8000-${String(i).padStart(12, '0')}` as ServiceId);
      expect(fieldErrors([], create({ serviceIds: many }))).toEqual(['serviceIds']);
    });

    it('refuses to create the same permission twice', () => {
      given([created]).when(create()).then('CONFLICT');
    });
  });

  describe('UpdatePermission', () => {
    it('renames, carrying the name it replaces', () => {
      given([created])
        .when(update({ name: 'billing:view' }))
        .then([{ type: 'PermissionUpdated', data: { name: 'billing:view', previousName: 'billing:read' } }]);
    });

    it('replaces the service set', () => {
      given([created])
        .when(update({ serviceIds: [S3] }))
        .then([{ type: 'PermissionUpdated', data: { serviceIds: [S3] } }]);
    });

    it('does both at once, and then builds on them', () => {
      const history = given([created])
        .when(update({ name: 'billing:all', serviceIds: [S2, S3] }))
        .then([{ type: 'PermissionUpdated', data: { name: 'billing:all', previousName: 'billing:read', serviceIds: [S2, S3] } }]);
      given(history)
        .when(update({ name: 'billing:all', serviceIds: [S3, S2] }))
        .then([]);
    });

    it('records nothing when nothing changes (the service set compares as a set)', () => {
      given([created])
        .when(update({ name: 'billing:read', serviceIds: [S2, S1] }))
        .then([]);
      given([created]).when(update({})).then([]);
    });

    it('validates what it changes', () => {
      given([created])
        .when(update({ name: 'no' }))
        .then('VALIDATION_FAILED');
      given([created])
        .when(update({ serviceIds: [] }))
        .then('VALIDATION_FAILED');
      expect(fieldErrors([created], update({ serviceIds: [S1, S3], unknownServiceIds: [S3] }))).toEqual(['serviceIds[1]']);
    });

    it('an unknown or deleted permission is not found', () => {
      given([])
        .when(update({ name: 'billing:view' }))
        .then('NOT_FOUND');
      given([created, deleted])
        .when(update({ name: 'billing:view' }))
        .then('NOT_FOUND');
    });
  });

  describe('DeletePermission', () => {
    it('deletes a live permission, naming it', () => {
      given([created]).when({ type: 'DeletePermission' }).then([deleted]);
    });

    it('deletes the renamed name', () => {
      const history: PermissionEvent[] = [
        created,
        { type: 'PermissionUpdated', data: { name: 'billing:view', previousName: 'billing:read' } },
      ];
      given(history)
        .when({ type: 'DeletePermission' })
        .then([{ type: 'PermissionDeleted', data: { name: 'billing:view' } }]);
    });

    it('twice, or unknown: not found', () => {
      given([created, deleted]).when({ type: 'DeletePermission' }).then('NOT_FOUND');
      given([]).when({ type: 'DeletePermission' }).then('NOT_FOUND');
    });
  });

  it('isLivePermission: created and not deleted', () => {
    const fold = (events: PermissionEvent[]) => events.reduce(permissionDecider.evolve, permissionDecider.initialState());
    expect(isLivePermission(fold([]))).toBe(false);
    expect(isLivePermission(fold([created]))).toBe(true);
    expect(isLivePermission(fold([created, deleted]))).toBe(false);
  });
});

describe('grants decider', () => {
  const givenGrants = deciderSpec(grantsDecider);
  const P2 = 'a1b2c3d4-0000-4000-8000-000000000002' as PermissionId;
  const set = (permissionIds: PermissionId[], over: Partial<GrantsCommand> = {}): GrantsCommand => ({
    type: 'SetUserPermissions',
    permissionIds,
    userExists: true,
    unknownPermissionIds: [],
    ...over,
  });
  const wasSet = (permissionIds: PermissionId[]): UserGrantsEvent => ({ type: 'UserPermissionsSet', data: { permissionIds } });

  it('records the whole set', () => {
    givenGrants([])
      .when(set([P, P2]))
      .then([wasSet([P, P2])]);
  });

  it('replaces the set, and can empty it', () => {
    givenGrants([wasSet([P, P2])])
      .when(set([P2]))
      .then([wasSet([P2])]);
    givenGrants([wasSet([P, P2])])
      .when(set([]))
      .then([wasSet([])]);
  });

  it('records nothing for the same set, in any order', () => {
    givenGrants([wasSet([P, P2])])
      .when(set([P2, P]))
      .then([]);
    givenGrants([]).when(set([])).then([]);
  });

  it('refuses an unknown user', () => {
    givenGrants([])
      .when(set([P], { userExists: false }))
      .then('NOT_FOUND');
  });

  it('refuses unknown or repeated permissions, by index', () => {
    givenGrants([])
      .when(set([P, P2], { unknownPermissionIds: [P2] }))
      .then('VALIDATION_FAILED');
    try {
      grantsDecider.decide(set([P, P, P2], { unknownPermissionIds: [P2] }), grantsDecider.initialState());
      throw new Error('expected a failure');
    } catch (e) {
      expect((e as DomainError).errors?.map((x) => x.path)).toEqual(['permissionIds[1]', 'permissionIds[2]']);
    }
  });
});
