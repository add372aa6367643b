import { randomUUID } from 'node:crypto';
import { CommandContext, RequestMeta } from './context';
import { DomainError } from '../errors';
import { isLive } from './service/decider';
import { createService, loadService } from './service/services';
import { CatalogueSeedEvent, SEED_CATALOGUE_STREAM, ServiceId } from '../events/service';
import { WrongExpectedVersionError } from '../eventstore/types';
import { decode } from '../events/registry';

/**
 * The default catalogue. Ids are fixed, so every installation names these services alike and
 * processes that seed at the same moment write the same streams (one wins, the others see it).
 */
export const DEFAULT_SERVICES: readonly { id: ServiceId; name: string; description: string }[] = [
  {
    id: '5e0c2f7a-1d1b-4c1e-9a61-2f4b8a0c1001' as ServiceId,
    name: 'User Management',
    description: 'Accounts, profiles, roles and sessions of users',
  },
  {
    id: '5e0c2f7a-1d1b-4c1e-9a61-2f4b8a0c1002' as ServiceId,
    name: 'Service Management',
    description: 'The catalogue of services that permissions cover',
  },
  {
    id: '5e0c2f7a-1d1b-4c1e-9a61-2f4b8a0c1003' as ServiceId,
    name: 'Permission Management',
    description: 'Permissions over services and who holds them',
  },
  { id: '5e0c2f7a-1d1b-4c1e-9a61-2f4b8a0c1004' as ServiceId, name: 'Billing', description: 'Invoices, payments and subscriptions' },
  { id: '5e0c2f7a-1d1b-4c1e-9a61-2f4b8a0c1005' as ServiceId, name: 'Reports', description: 'Dashboards, exports and scheduled reports' },
  {
    id: '5e0c2f7a-1d1b-4c1e-9a61-2f4b8a0c1006' as ServiceId,
    name: 'Notifications',
    description: 'Email and in-app notifications sent to users',
  },
];

const seedMeta = (): RequestMeta => ({ correlationId: randomUUID(), ip: null, userAgent: 'seed', actorId: null });

async function catalogueSeeded(cmd: CommandContext): Promise<boolean> {
  for await (const r of cmd.store.read(SEED_CATALOGUE_STREAM)) {
    if (decode(r).type === 'CatalogueSeeded') return true;
  }
  return false;
}

/**
 * Data every installation starts with, appended as events once (idempotent across restarts and
 * across API processes starting together). Once `seed-catalogue-v1` records the catalogue as
 * seeded, nothing here runs again: a service an admin deleted or renamed stays that way. Until
 * then each start creates whichever default service has no stream yet, so a start that died
 * halfway is completed by the next one, and a service is never created twice.
 */
export async function seedAtStart(cmd: CommandContext): Promise<void> {
  if (await catalogueSeeded(cmd)) return;
  const meta = seedMeta();
  for (const s of DEFAULT_SERVICES) {
    if ((await loadService(cmd, s.id)).exists) continue;
    try {
      await createService(cmd, { name: s.name, description: s.description }, meta, s.id);
    } catch (err) {
      // Another process created it meanwhile, or an admin already uses the name: keep theirs.
      if (!(err instanceof DomainError && err.code === 'CONFLICT')) throw err;
    }
  }
  const seeded = (await Promise.all(DEFAULT_SERVICES.map(async (s) => (isLive(await loadService(cmd, s.id)) ? [s.id] : [])))).flat();
  try {
    const done: CatalogueSeedEvent = { type: 'CatalogueSeeded', data: { serviceIds: seeded, at: cmd.clock().toISOString() } };
    await cmd.store.append(SEED_CATALOGUE_STREAM, [{ ...done, metadata: meta }], 'no_stream');
  } catch (err) {
    if (!(err instanceof WrongExpectedVersionError)) throw err;
  }
}
