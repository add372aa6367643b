import { idInStream } from './streams';

/**
 * Events of the `service-<id>` streams: the catalogue of services that permissions cover.
 * A deleted service stays deleted (its name is released for reuse by a new service).
 */
export type ServiceId = string & { readonly __brand: 'ServiceId' };

const SERVICE_PREFIX = 'service-';
export const serviceStream = (id: string): string => `${SERVICE_PREFIX}${id}`;
export const serviceIdOf = (streamId: string): ServiceId => idInStream(streamId, SERVICE_PREFIX) as ServiceId;

/** One edited field, with the value before and after: the audit trail reads it as is. */
export type ServiceChange =
  { field: 'name'; oldValue: string; newValue: string } | { field: 'description'; oldValue: string | null; newValue: string | null };

export type ServiceEvent =
  | { type: 'ServiceCreated'; data: { serviceId: ServiceId; name: string; description: string | null } }
  | { type: 'ServiceUpdated'; data: { changes: ServiceChange[] } }
  | { type: 'ServiceDeleted'; data: { name: string } };

export type ServiceEventType = ServiceEvent['type'];

/**
 * The default catalogue is recorded as done on its own stream, appended with `no_stream`:
 * once it holds this event, no later start touches the catalogue again.
 */
export const SEED_CATALOGUE_STREAM = 'seed-catalogue-v1';

export type CatalogueSeedEvent = { type: 'CatalogueSeeded'; data: { serviceIds: ServiceId[]; at: string } };
