import { CommandContext } from '../context';
import { ownerOf } from '../claims';
import { isLive } from '../service/decider';
import { loadService } from '../service/services';
import { isLivePermission } from './decider';
import { loadGrants } from './grants';
import { loadPermission } from './permissions';
import { normaliseCatalogueName } from '../../events/claim';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface AccessAnswer {
  allowed: boolean;
  /** Names of the caller's permissions that cover the service, sorted. */
  permissions: string[];
}

export interface Caller {
  userId: string;
  /** An API key counts only the permissions it was given; null for a signed-in session. */
  limitTo: readonly string[] | null;
}

/**
 * Does the caller hold a permission over a service (named by id or by name)? A security
 * decision, so it reads the source of truth: the service's stream (a name goes through its
 * claim), the user's grants stream and each granted permission's stream; never a read table.
 * An unknown or deleted service is simply not allowed.
 */
export async function checkAccess(ctx: CommandContext, caller: Caller, service: string): Promise<AccessAnswer> {
  const denied: AccessAnswer = { allowed: false, permissions: [] };
  const serviceId = UUID.test(service) ? service.toLowerCase() : await ownerOf(ctx.store, 'serviceName', normaliseCatalogueName(service));
  if (!serviceId) return denied;
  const [svc, grants] = await Promise.all([loadService(ctx, serviceId), loadGrants(ctx, caller.userId)]);
  if (!isLive(svc)) return denied;
  const limit = caller.limitTo === null ? null : new Set(caller.limitTo.map((id) => id.toLowerCase()));
  const candidates = grants.permissionIds.filter((id) => limit === null || limit.has(id));
  const permissions = await Promise.all(candidates.map((id) => loadPermission(ctx, id)));
  const names = permissions
    .filter((p) => isLivePermission(p) && p.serviceIds.some((s) => s === serviceId))
    .map((p) => p.name)
    .sort();
  return { allowed: names.length > 0, permissions: names };
}
