import { randomUUID } from 'node:crypto';
import { CommandContext, RequestMeta } from '../context';
import { claimValue, releaseValue, writeRenaming } from '../claims';
import { DomainError, fail } from '../../errors';
import { handle, load } from '../handle';
import { isLive, serviceDecider, ServiceState } from './decider';
import { normaliseCatalogueName } from '../../events/claim';
import { ServiceId, serviceStream } from '../../events/service';
import { Position } from '../../eventstore/types';

export interface NewService {
  name: string;
  description: string | null;
}

export interface ServicePatch {
  name?: string;
  description?: string | null;
}

/** Display form of a name: trimmed, runs of whitespace as one space. */
const tidy = (name: string): string => name.trim().replace(/\s+/g, ' ');

const nameTaken = (): never => {
  throw new DomainError('CONFLICT', 'A service with that name exists', [{ path: 'name', message: 'name is already taken' }]);
};

export const loadService = async (ctx: CommandContext, id: string): Promise<ServiceState> =>
  (await load(ctx.store, serviceStream(id), serviceDecider)).state;

/**
 * Creates a service. Its name is claimed first (unique case-insensitively); if the service is
 * then not created, the claim is given back unless a live service with that id holds it.
 * `serviceId` is fixed only by the default catalogue, so that racing seeders converge.
 */
export async function createService(
  ctx: CommandContext,
  input: NewService,
  meta: RequestMeta,
  serviceId: ServiceId = randomUUID() as ServiceId,
): Promise<{ id: ServiceId; position: Position | null }> {
  const name = tidy(input.name);
  const key = normaliseCatalogueName(name);
  const claim = await claimValue(ctx.store, 'serviceName', key, serviceId, meta, ctx.clock());
  if (!claim.ok) nameTaken();
  try {
    const r = await handle(
      ctx.store,
      serviceStream(serviceId),
      serviceDecider,
      { type: 'CreateService', serviceId, name, description: input.description },
      meta,
    );
    return { id: serviceId, position: r.position };
  } catch (err) {
    const s = await loadService(ctx, serviceId);
    if (!isLive(s) || normaliseCatalogueName(s.name) !== key) await releaseValue(ctx.store, 'serviceName', key, serviceId, meta);
    throw err;
  }
}

/** Renames and/or redescribes. A new name is claimed before the old one is given back. */
export async function updateService(ctx: CommandContext, id: string, patch: ServicePatch, meta: RequestMeta): Promise<Position | null> {
  const current = await loadService(ctx, id);
  if (!isLive(current)) fail('NOT_FOUND', 'Service not found');
  const name = patch.name === undefined ? undefined : tidy(patch.name);
  const newKey = name === undefined ? null : normaliseCatalogueName(name);
  const keyNow = async () => normaliseCatalogueName((await loadService(ctx, id)).name);
  return writeRenaming(
    ctx.store,
    'serviceName',
    id,
    meta,
    ctx.clock(),
    { newKey, currentKey: normaliseCatalogueName(current.name), keyNow, taken: nameTaken },
    async () => {
      const r = await handle(
        ctx.store,
        serviceStream(id),
        serviceDecider,
        { type: 'UpdateService', name, description: patch.description },
        meta,
      );
      // The name actually replaced, as decided (a concurrent rename may have moved it meanwhile).
      const replacedKeys = r.events.flatMap((e) =>
        (e.type === 'ServiceUpdated' ? e.data.changes : [])
          .filter((c) => c.field === 'name')
          .map((c) => normaliseCatalogueName(c.oldValue)),
      );
      return { value: r.position, replacedKeys };
    },
  );
}

/**
 * Deletes a service for good (its stream keeps the history) and frees its name. Permissions
 * that listed it stop covering it: the permission read model drops the link.
 */
export async function deleteService(ctx: CommandContext, id: string, meta: RequestMeta): Promise<Position | null> {
  const r = await handle(ctx.store, serviceStream(id), serviceDecider, { type: 'DeleteService' }, meta);
  for (const e of r.events) {
    if (e.type === 'ServiceDeleted') await releaseValue(ctx.store, 'serviceName', normaliseCatalogueName(e.data.name), id, meta);
  }
  return r.position;
}
