import { randomUUID } from 'node:crypto';
import { decode, DomainEvent } from '../events/registry';
import { EventMetadata, EventStore, Position, RecordedEvent, WrongExpectedVersionError } from '../eventstore/types';
import { BoundedMap } from '../infra/bounded';
import { Decider } from './decider';
import { ContentionError } from '../errors';

export interface Loaded<S> {
  state: S;
  /** -1n when the stream does not exist. */
  revision: bigint;
}

/** Streams remembered per store and decider (per process): enough for every active session and user of a busy node. */
export const STREAM_CACHE_SIZE = 20_000;
const streamCaches = new WeakMap<EventStore, WeakMap<object, BoundedMap<string, Loaded<unknown>>>>();

/**
 * The states this process last loaded or wrote, by stream, for one decider. Streams only grow,
 * so a state folded up to revision n stays right for that prefix: the next load reads only the
 * events after n (usually none) instead of the whole stream. Other processes' appends are in
 * that tail, and a decision on a stale state would fail its append's expected revision anyway.
 */
function cacheOf(store: EventStore, decider: object): BoundedMap<string, Loaded<unknown>> {
  let byDecider = streamCaches.get(store);
  if (!byDecider) streamCaches.set(store, (byDecider = new WeakMap()));
  let cache = byDecider.get(decider);
  if (!cache) byDecider.set(decider, (cache = new BoundedMap(STREAM_CACHE_SIZE)));
  return cache;
}

export async function load<C, E extends DomainEvent, S>(store: EventStore, stream: string, decider: Decider<C, E, S>): Promise<Loaded<S>> {
  const known = remembered(store, stream, decider);
  const tail: RecordedEvent[] = [];
  for await (const r of store.read(stream, (known?.revision ?? -1n) + 1n)) tail.push(r);
  return foldTail(store, stream, decider, known, tail);
}

/** What this process remembers of a stream, without reading anything (it may have moved on since). */
export const remembered = <C, E extends DomainEvent, S>(
  store: EventStore,
  stream: string,
  decider: Decider<C, E, S>,
): Loaded<S> | undefined => cacheOf(store, decider).get(stream) as Loaded<S> | undefined;

/**
 * Two streams loaded as `load` does, in one round trip when the store can read several tails
 * at once (PostgreSQL), else one after the other.
 */
export async function loadBoth<C1, E1 extends DomainEvent, S1, C2, E2 extends DomainEvent, S2>(
  store: EventStore,
  a: [string, Decider<C1, E1, S1>],
  b: [string, Decider<C2, E2, S2>],
): Promise<[Loaded<S1>, Loaded<S2>]> {
  if (!store.readTails) return [await load(store, a[0], a[1]), await load(store, b[0], b[1])];
  const known: [Loaded<S1> | undefined, Loaded<S2> | undefined] = [remembered(store, a[0], a[1]), remembered(store, b[0], b[1])];
  const [ta, tb] = await store.readTails([
    { stream: a[0], fromRevision: (known[0]?.revision ?? -1n) + 1n },
    { stream: b[0], fromRevision: (known[1]?.revision ?? -1n) + 1n },
  ]);
  return [foldTail(store, a[0], a[1], known[0], ta), foldTail(store, b[0], b[1], known[1], tb)];
}

/** The remembered state (if any) with the stream's tail folded on, remembered in turn. */
function foldTail<C, E extends DomainEvent, S>(
  store: EventStore,
  stream: string,
  decider: Decider<C, E, S>,
  known: Loaded<S> | undefined,
  tail: RecordedEvent[],
): Loaded<S> {
  let state = known?.state ?? decider.initialState();
  let revision = known?.revision ?? -1n;
  for (const r of tail) {
    state = decider.evolve(state, decode<E>(r));
    revision = r.revision;
  }
  const loaded = { state, revision };
  if (revision >= 0n) remember(cacheOf(store, decider), stream, loaded);
  return loaded;
}

/** Most recently used last, so the bound forgets the streams idle longest; never an older prefix over a newer one. */
function remember(cache: BoundedMap<string, Loaded<unknown>>, stream: string, loaded: Loaded<unknown>): void {
  const held = cache.get(stream);
  if (held && held.revision > loaded.revision) return;
  cache.delete(stream);
  cache.set(stream, loaded);
}

export interface Handled<E, S> {
  /** The events appended, with the ids they were stored under. */
  events: (E & { id: string })[];
  state: S;
  /** Position of the last appended event; null when the decision was to do nothing. */
  position: Position | null;
}

/** Appends tried per command before it gives up on a contended stream. */
export const MAX_ATTEMPTS = 16;
const BACKOFF_BASE_MS = 2;
const BACKOFF_CAP_MS = 250;

/**
 * How long to wait before attempt `attempt` (2, 3, ...): "full jitter", a random share of a
 * doubling ceiling, so writers that just collided spread out instead of colliding again in step.
 */
export const backoffMs = (attempt: number, random: () => number = Math.random): number =>
  Math.floor(random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1)));

/**
 * Load, decide, append at the expected revision; on a concurrent write, wait a jittered moment,
 * load again and decide again (the decision may change: that is the point). A stream still
 * contended after every attempt is a ContentionError (503 with Retry-After), never a 500.
 */
export async function handle<C, E extends DomainEvent, S>(
  store: EventStore,
  stream: string,
  decider: Decider<C, E, S>,
  command: C,
  metadata: EventMetadata,
  /** The stream as the caller just loaded it: decided on first, so it is not read twice. */
  loaded?: Loaded<S>,
  attempts = MAX_ATTEMPTS,
): Promise<Handled<E, S>> {
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt)));
    const { state, revision } = attempt === 1 && loaded ? loaded : await load(store, stream, decider);
    const decided = decider.decide(command, state);
    if (decided.length === 0) return { events: [], state, position: null };
    const events = decided.map((e) => ({ ...e, id: randomUUID() }));
    try {
      const result = await store.append(
        stream,
        events.map((e) => ({ id: e.id, type: e.type, data: e.data, metadata })),
        revision === -1n ? 'no_stream' : revision,
      );
      const next = events.reduce(decider.evolve, state);
      remember(cacheOf(store, decider), stream, { state: next, revision: result.nextRevision });
      return { events, state: next, position: result.position };
    } catch (err) {
      if (!(err instanceof WrongExpectedVersionError)) throw err;
      if (attempt >= attempts) throw new ContentionError(stream);
    }
  }
}
