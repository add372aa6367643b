import { ClaimKind, claimStream, normaliseCatalogueName, normaliseUsername } from '../events/claim';
import { EventMetadata, EventStore, Position } from '../eventstore/types';
import { claimDecider, ClaimState, HolderCheck, mayBeOrphaned } from './claim/decider';
import { ContentionError } from '../errors';
import { handle, load, Loaded } from './handle';
import { userStream } from '../events/user';
import { serviceStream } from '../events/service';
import { permissionStream } from '../events/permission';
import { userDecider } from './user/decider';
import { isLive, serviceDecider } from './service/decider';
import { isLivePermission, permissionDecider } from './permission/decider';

/** Whether the owner's own stream (the source of truth) holds the value the claim is for. */
const HOLDS: Record<ClaimKind, (store: EventStore, ownerId: string, value: string) => Promise<boolean>> = {
  email: async (store, id, value) => {
    const { state } = await load(store, userStream(id), userDecider);
    return state.exists && state.email === value;
  },
  username: async (store, id, value) => {
    const { state } = await load(store, userStream(id), userDecider);
    return state.exists && state.username !== null && normaliseUsername(state.username) === value;
  },
  serviceName: async (store, id, value) => {
    const { state } = await load(store, serviceStream(id), serviceDecider);
    return isLive(state) && normaliseCatalogueName(state.name) === value;
  },
  permissionName: async (store, id, value) => {
    const { state } = await load(store, permissionStream(id), permissionDecider);
    return isLivePermission(state) && normaliseCatalogueName(state.name) === value;
  },
};

/** Who holds a value (email, username), from the claim stream alone. */
export async function ownerOf(store: EventStore, kind: ClaimKind, normalised: string): Promise<string | null> {
  return (await load(store, claimStream(kind, normalised), claimDecider)).state.owner;
}

export type ClaimResult = { ok: true; position: Position | null } | { ok: false; ownerId: string };

/**
 * Claims a unique value for an owner by appending to the value's own stream at the revision it
 * was read at (handle): of two racing claims exactly one appends; the other reads again and
 * sees the owner. A claim old enough to be an orphan is decided again with what its holder's
 * stream says. A value too contended to claim is a ContentionError (503), like any stream.
 */
export async function claimValue(
  store: EventStore,
  kind: ClaimKind,
  normalised: string,
  ownerId: string,
  metadata: EventMetadata,
  now: Date = new Date(),
): Promise<ClaimResult> {
  const stream = claimStream(kind, normalised);
  const claim = (holderCheck: HolderCheck | null, loaded?: Loaded<ClaimState>) =>
    handle(store, stream, claimDecider, { type: 'ClaimValue', kind, ownerId, now: now.toISOString(), holderCheck }, metadata, loaded);
  // Most values are claimed for the first time: try that without reading; a stream that exists
  // fails the append (no_stream) and handle reads it. (Not on a remembered state: one that says
  // "taken" decides nothing, so no append would catch it being stale.)
  let r = await claim(null, { state: claimDecider.initialState(), revision: -1n });
  const holder = r.state.owner;
  if (holder !== null && holder !== ownerId && mayBeOrphaned(r.state, now.toISOString())) {
    r = await claim({ holderId: holder, holdsValue: await HOLDS[kind](store, holder, normalised) });
  }
  return r.state.owner === ownerId ? { ok: true, position: r.position } : { ok: false, ownerId: r.state.owner! };
}

/**
 * Gives a value back, if this owner holds it. One that stays too contended to release is left
 * claimed: its owner's stream does not hold it, so the orphan rule frees it in time.
 */
export async function releaseValue(
  store: EventStore,
  kind: ClaimKind,
  normalised: string,
  ownerId: string,
  metadata: EventMetadata,
  now: Date = new Date(),
): Promise<void> {
  try {
    await handle(
      store,
      claimStream(kind, normalised),
      claimDecider,
      { type: 'ReleaseValue', kind, ownerId, now: now.toISOString() },
      metadata,
    );
  } catch (err) {
    if (!(err instanceof ContentionError)) throw err;
  }
}

/**
 * A write that may rename something uniquely named (a service, a permission): the new name is
 * claimed before the write (`taken()` when someone holds it), the names the write replaced are
 * given back after it, and if the write fails the new claim is given back unless the thing
 * holds that name after all (a concurrent rename to it).
 */
export async function writeRenaming<T>(
  store: EventStore,
  kind: ClaimKind,
  ownerId: string,
  meta: EventMetadata,
  now: Date,
  rename: { newKey: string | null; currentKey: string; keyNow: () => Promise<string>; taken: () => never },
  write: () => Promise<{ value: T; replacedKeys: string[] }>,
): Promise<T> {
  const { newKey } = rename;
  const renames = newKey !== null && newKey !== rename.currentKey;
  if (renames && !(await claimValue(store, kind, newKey, ownerId, meta, now)).ok) rename.taken();
  try {
    const { value, replacedKeys } = await write();
    for (const old of replacedKeys) if (old !== newKey) await releaseValue(store, kind, old, ownerId, meta);
    return value;
  } catch (err) {
    if (renames && (await rename.keyNow()) !== newKey) await releaseValue(store, kind, newKey, ownerId, meta);
    throw err;
  }
}
