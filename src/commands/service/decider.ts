import { fail } from '../../errors';
import { Decider } from '../decider';
import { ServiceChange, ServiceEvent, ServiceId } from '../../events/service';

/** Limits shared by the HTTP schemas and the decider (the decider is the last word). */
export const SERVICE_NAME_MIN = 2;
export const SERVICE_NAME_MAX = 100;
export const SERVICE_DESCRIPTION_MAX = 1000;

export interface ServiceState {
  exists: boolean;
  deleted: boolean;
  id: ServiceId | null;
  name: string;
  description: string | null;
}

export const initialServiceState = (): ServiceState => ({ exists: false, deleted: false, id: null, name: '', description: null });

/** A service that can be referenced: created and not deleted. */
export const isLive = (s: ServiceState): boolean => s.exists && !s.deleted;

export function evolveService(s: ServiceState, e: ServiceEvent): ServiceState {
  switch (e.type) {
    case 'ServiceCreated':
      return { ...s, exists: true, id: e.data.serviceId, name: e.data.name, description: e.data.description };
    case 'ServiceUpdated': {
      const next = { ...s };
      for (const c of e.data.changes) {
        if (c.field === 'name') next.name = c.newValue;
        else next.description = c.newValue;
      }
      return next;
    }
    case 'ServiceDeleted':
      return { ...s, deleted: true };
  }
}

export type ServiceCommand =
  | { type: 'CreateService'; serviceId: ServiceId; name: string; description: string | null }
  /** Absent fields stay as they are; `description: null` clears it. */
  | { type: 'UpdateService'; name?: string; description?: string | null }
  | { type: 'DeleteService' };

const checkName = (name: string): void => {
  const n = name.trim();
  if (n !== name || n.length < SERVICE_NAME_MIN || n.length > SERVICE_NAME_MAX) {
    fail('VALIDATION_FAILED', 'The service name is invalid', [
      { path: 'name', message: `name must be ${SERVICE_NAME_MIN} to ${SERVICE_NAME_MAX} characters, without surrounding spaces` },
    ]);
  }
};

const checkDescription = (d: string | null): void => {
  if (d !== null && d.length > SERVICE_DESCRIPTION_MAX) {
    fail('VALIDATION_FAILED', 'The service description is too long', [
      { path: 'description', message: `description must be at most ${SERVICE_DESCRIPTION_MAX} characters` },
    ]);
  }
};

const requireLive = (s: ServiceState): void => {
  if (!isLive(s)) fail('NOT_FOUND', 'Service not found');
};

export function decideService(c: ServiceCommand, s: ServiceState): ServiceEvent[] {
  switch (c.type) {
    case 'CreateService':
      if (s.exists) fail('CONFLICT', 'Service already exists');
      checkName(c.name);
      checkDescription(c.description);
      return [{ type: 'ServiceCreated', data: { serviceId: c.serviceId, name: c.name, description: c.description } }];
    case 'UpdateService': {
      requireLive(s);
      const changes: ServiceChange[] = [];
      if (c.name !== undefined && c.name !== s.name) {
        checkName(c.name);
        changes.push({ field: 'name', oldValue: s.name, newValue: c.name });
      }
      if (c.description !== undefined && c.description !== s.description) {
        checkDescription(c.description);
        changes.push({ field: 'description', oldValue: s.description, newValue: c.description });
      }
      return changes.length ? [{ type: 'ServiceUpdated', data: { changes } }] : [];
    }
    case 'DeleteService':
      requireLive(s);
      return [{ type: 'ServiceDeleted', data: { name: s.name } }];
  }
}

export const serviceDecider: Decider<ServiceCommand, ServiceEvent, ServiceState> = {
  initialState: initialServiceState,
  evolve: evolveService,
  decide: decideService,
};
