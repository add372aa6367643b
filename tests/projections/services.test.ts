import { servicesProjection } from '../../src/projections/services';
import { ServiceEvent, ServiceId } from '../../src/events/service';
import { eventLog, uuid } from '../helpers/events';
import { projectionSpec } from '../helpers/projection-spec';

const spec = projectionSpec(servicesProjection);

const BILLING = uuid('service', 1) as ServiceId;
const ADMIN = uuid('user', 1);
const OTHER_ADMIN = uuid('user', 2);

const created = (name = 'Billing', description: string | null = 'Invoices'): ServiceEvent => ({
  type: 'ServiceCreated',
  data: { serviceId: BILLING, name, description },
});

describe('services projection', () => {
  it('ServiceCreated: a row with its name, description, and who created it when', async () => {
    const log = eventLog();
    const e = log.service(BILLING, created(), { actorId: ADMIN });
    await spec.given(e).then({
      services: [
        {
          id: BILLING,
          name: 'Billing',
          description: 'Invoices',
          created_by: ADMIN,
          updated_by: ADMIN,
          created_at: e.createdAt,
          updated_at: e.createdAt,
        },
      ],
    });
  });

  it('ServiceCreated without a description, by the seeder (no actor)', async () => {
    const log = eventLog();
    await spec
      .given(log.service(BILLING, created('Billing', null)))
      .then({ services: [{ name: 'Billing', description: null, created_by: null }] });
  });

  it('ServiceUpdated: each changed field takes its new value; the editor and time are recorded, the creation kept', async () => {
    const log = eventLog();
    const c = log.service(BILLING, created(), { actorId: ADMIN });
    const rename = log.service(
      BILLING,
      { type: 'ServiceUpdated', data: { changes: [{ field: 'name', oldValue: 'Billing', newValue: 'Payments' }] } },
      { actorId: OTHER_ADMIN },
    );
    const redescribe = log.service(
      BILLING,
      { type: 'ServiceUpdated', data: { changes: [{ field: 'description', oldValue: 'Invoices', newValue: null }] } },
      { actorId: ADMIN },
    );
    await spec.given(c, rename).then({
      services: [
        {
          name: 'Payments',
          description: 'Invoices',
          created_by: ADMIN,
          created_at: c.createdAt,
          updated_by: OTHER_ADMIN,
          updated_at: rename.createdAt,
        },
      ],
    });
    await spec
      .given(c, rename, redescribe)
      .then({ services: [{ name: 'Payments', description: null, updated_by: ADMIN, updated_at: redescribe.createdAt }] });
  });

  it('ServiceDeleted: the row goes (its stream keeps the history)', async () => {
    const log = eventLog();
    const other = uuid('service', 2);
    await spec
      .given(
        log.service(BILLING, created()),
        log.service(other, { type: 'ServiceCreated', data: { serviceId: other as ServiceId, name: 'Reports', description: null } }),
        log.service(BILLING, { type: 'ServiceDeleted', data: { name: 'Billing' } }),
      )
      .then({ services: [{ id: other, name: 'Reports' }] });
  });

  it('events of other streams leave the table alone', async () => {
    const log = eventLog();
    await spec
      .given(log.catalogueSeed({ type: 'CatalogueSeeded', data: { serviceIds: [BILLING], at: '2031-05-01T10:00:00.000Z' } }))
      .then({ services: [] });
  });
});
