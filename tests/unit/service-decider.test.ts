import { DomainError } from '../../src/errors';
import { isLive, serviceDecider, ServiceCommand } from '../../src/commands/service/decider';
import { ServiceEvent, ServiceId } from '../../src/events/service';
import { deciderSpec } from './decider-spec';

const given = deciderSpec(serviceDecider);

const SERVICE_ID = '3f2b8c1e-5d4a-4f6b-8c7d-9e0f1a2b3c4d' as ServiceId;

const created: ServiceEvent = { type: 'ServiceCreated', data: { serviceId: SERVICE_ID, name: 'Billing', description: 'Invoices' } };
const create = (over: Partial<Extract<ServiceCommand, { type: 'CreateService' }>> = {}): ServiceCommand => ({
  type: 'CreateService',
  serviceId: SERVICE_ID,
  name: 'Billing',
  description: 'Invoices',
  ...over,
});
const update = (over: { name?: string; description?: string | null }): ServiceCommand => ({ type: 'UpdateService', ...over });
const deleted: ServiceEvent = { type: 'ServiceDeleted', data: { name: 'Billing' } };

const errorsOf = (f: () => unknown): { path: string }[] => {
  try {
    f();
  } catch (e) {
    if (e instanceof DomainError) return e.errors ?? [];
  }
  return [];
};

describe('service decider', () => {
  describe('CreateService', () => {
    it('creates a service', () => {
      given([]).when(create()).then([created]);
    });

    it('creates one without a description', () => {
      given([])
        .when(create({ description: null }))
        .then([{ type: 'ServiceCreated', data: { serviceId: SERVICE_ID, name: 'Billing', description: null } }]);
    });

    it('refuses to create the same service twice, even after a delete', () => {
      given([created]).when(create()).then('CONFLICT');
      given([created, deleted]).when(create()).then('CONFLICT');
    });

    it('refuses a name that is too short, too long or not trimmed', () => {
      given([])
        .when(create({ name: 'B' }))
        .then('VALIDATION_FAILED');
      given([])
        .when(create({ name: 'x'.repeat(101) }))
        .then('VALIDATION_FAILED');
      given([])
        .when(create({ name: ' Billing' }))
        .then('VALIDATION_FAILED');
      expect(errorsOf(() => serviceDecider.decide(create({ name: 'B' }), serviceDecider.initialState()))).toEqual([
        expect.objectContaining({ path: 'name' }),
      ]);
    });

    it('refuses a description that is too long', () => {
      given([])
        .when(create({ description: 'd'.repeat(1001) }))
        .then('VALIDATION_FAILED');
    });
  });

  describe('UpdateService', () => {
    it('records each changed field with its old and new value', () => {
      given([created])
        .when(update({ name: 'Billing & Payments', description: null }))
        .then([
          {
            type: 'ServiceUpdated',
            data: {
              changes: [
                { field: 'name', oldValue: 'Billing', newValue: 'Billing & Payments' },
                { field: 'description', oldValue: 'Invoices', newValue: null },
              ],
            },
          },
        ]);
    });

    it('records nothing when nothing changes', () => {
      given([created])
        .when(update({ name: 'Billing', description: 'Invoices' }))
        .then([]);
      given([created]).when(update({})).then([]);
    });

    it('builds on earlier updates', () => {
      const history = given([created])
        .when(update({ name: 'Payments' }))
        .then([{ type: 'ServiceUpdated', data: { changes: [{ field: 'name', oldValue: 'Billing', newValue: 'Payments' }] } }]);
      given(history)
        .when(update({ name: 'Payments' }))
        .then([]);
      given(history)
        .when(update({ name: 'Billing' }))
        .then([{ type: 'ServiceUpdated', data: { changes: [{ field: 'name', oldValue: 'Payments', newValue: 'Billing' }] } }]);
    });

    it('refuses an unknown or deleted service', () => {
      given([])
        .when(update({ name: 'X service' }))
        .then('NOT_FOUND');
      given([created, deleted])
        .when(update({ name: 'X service' }))
        .then('NOT_FOUND');
    });

    it('refuses an invalid new name', () => {
      given([created])
        .when(update({ name: '' }))
        .then('VALIDATION_FAILED');
    });
  });

  describe('DeleteService', () => {
    it('deletes a live service, naming it (its claim is released by name)', () => {
      given([created]).when({ type: 'DeleteService' }).then([deleted]);
    });

    it('a deleted or unknown service is not found', () => {
      given([created, deleted]).when({ type: 'DeleteService' }).then('NOT_FOUND');
      given([]).when({ type: 'DeleteService' }).then('NOT_FOUND');
    });
  });

  it('isLive: created and not deleted', () => {
    const fold = (events: ServiceEvent[]) => events.reduce(serviceDecider.evolve, serviceDecider.initialState());
    expect(isLive(fold([]))).toBe(false);
    expect(isLive(fold([created]))).toBe(true);
    expect(isLive(fold([created, deleted]))).toBe(false);
  });
});
