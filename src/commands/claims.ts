import { ClaimEvent, ClaimKind, claimStream, normaliseCatalogueName, normaliseUsername } from '../events/claim';
import { EventMetadata, EventStore, Expected, Position, WrongExpectedVersionError } from '../eventstore/types';
import { load } from './handle';
import { decode } from '../events/registry';
import { userStream } from '../events/user';
import { serviceStream } from '../events/service';
import { permissionStream } from '../events/permission';
import { userDecider } from './user/decider';
import { isLive, serviceDecider } from './service/decider';
import { isLivePermission, permissionDecider } from './permission/decider';

/**
 * How long a claim is honoured when its owner's stream does not hold the value: the bound on
 * what a write that never happened (a crash between the claim and the owner's append, a
 * release that failed) keeps blocked. Past it, the next claim of the value takes it over. It
 * must be well above the time between a claim and its owner's append in a live request
 * (milliseconds; a request gives up long before a minute), or a slow request could lose the
 * value it is about to use.
 */
export const ORPHAN_CLAIM_SECONDS = 60;

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

interface ClaimState {
  owner: string | null;
  claimedAt: string | null;
  revision: bigint;
}

async function readClaim(store: EventStore, stream: string): Promise<ClaimState> {
  const s: ClaimState = { owner: null, claimedAt: null, revision: -1n };
  for await (const r of store.read(stream)) {
    const e = decode(r);
    s.owner = e.type === 'ValueClaimed' ? e.data.userId : null;
    s.claimedAt = e.type === 'ValueClaimed' ? e.data.at : null;
    s.revision = r.revision;
  }
  return s;
}

/** Who holds a value (email, username), from the claim stream alone. */
export async function ownerOf(store: EventStore, kind: ClaimKind, normalised: string): Promise<string | null> {
  return (await readClaim(store, claimStream(kind, normalised))).owner;
}

export type ClaimResult = { ok: true; position: Position | null } | { ok: false; ownerId: string };

/**
 * Claims a unique value for a user by appending to the value's own stream at the revision it
 * was read at: of two racing claims exactly one appends; the other re-reads and sees the owner.
 */
export async function claimValue(
  store: EventStore,
  kind: ClaimKind,
  normalised: string,
  userId: string,
  metadata: EventMetadata,
  now: Date = new Date(),
): Promise<ClaimResult> {
  const stream = claimStream(kind, normalised);
  for (let attempt = 0; attempt < 10; attempt++) {
    // Most values are claimed for the first time: try that without reading; a stream that
    // exists fails the append (no_stream) and the next attempt reads it.
    const s = attempt === 0 ? { owner: null, claimedAt: null, revision: -1n } : await readClaim(store, stream);
    if (s.owner === userId) return { ok: true, position: null };
    const events: ClaimEvent[] = [];
    if (s.owner !== null) {
      const orphaned =
        s.claimedAt !== null &&
        now.getTime() - Date.parse(s.claimedAt) > ORPHAN_CLAIM_SECONDS * 1000 &&
        !(await HOLDS[kind](store, s.owner, normalised));
      if (!orphaned) return { ok: false, ownerId: s.owner };
      events.push({ type: 'ValueReleased', data: { kind, userId: s.owner, at: now.toISOString() } });
    }
    events.push({ type: 'ValueClaimed', data: { kind, userId, at: now.toISOString() } });
    const expected: Expected = s.revision === -1n ? 'no_stream' : s.revision;
    try {
      const r = await store.append(stream, events.map((e) => ({ ...e, metadata })), expected);
      return { ok: true, position: r.position };
    } catch (err) {
      if (!(err instanceof WrongExpectedVersionError)) throw err;
    }
  }
  throw new Error(`Could not claim ${kind}: too much contention`);
}

/** Gives a value back, if this user holds it. */
export async function releaseValue(
  store: EventStore,
  kind: ClaimKind,
  normalised: string,
  userId: string,
  metadata: EventMetadata,
  now: Date = new Date(),
): Promise<void> {
  const stream = claimStream(kind, normalised);
  for (let attempt = 0; attempt < 10; attempt++) {
    const s = await readClaim(store, stream);
    if (s.owner !== userId) return;
    try {
      await store.append(stream, [{ type: 'ValueReleased', data: { kind, userId, at: now.toISOString() }, metadata }], s.revision);
      return;
    } catch (err) {
      if (!(err instanceof WrongExpectedVersionError)) throw err;
    }
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
