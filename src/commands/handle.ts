import { randomUUID } from 'node:crypto';
import { EventMetadata, EventStore, JsonObject, Position, RecordedEvent, WrongExpectedVersionError } from '../eventstore/types';
import { Decider } from './decider';

export interface DomainEvent {
  type: string;
  data: object;
}

/** A stored event seen as the domain's union type; the stream's category fixes which union. */
export const asDomainEvent = <E extends DomainEvent>(r: RecordedEvent): E => ({ type: r.type, data: r.data }) as unknown as E;

export interface Loaded<S> {
  state: S;
  /** -1n when the stream does not exist. */
  revision: bigint;
}

export async function load<C, E extends DomainEvent, S>(store: EventStore, stream: string, decider: Decider<C, E, S>): Promise<Loaded<S>> {
  let state = decider.initialState();
  let revision = -1n;
  for await (const r of store.read(stream)) {
    state = decider.evolve(state, asDomainEvent<E>(r));
    revision = r.revision;
  }
  return { state, revision };
}

export interface Handled<E, S> {
  /** The events appended, with the ids they were stored under. */
  events: (E & { id: string })[];
  state: S;
  /** Position of the last appended event; null when the decision was to do nothing. */
  position: Position | null;
}

/**
 * Load, decide, append at the expected revision; on a concurrent write, load again and decide
 * again (the decision may change: that is the point).
 */
export async function handle<C, E extends DomainEvent, S>(
  store: EventStore,
  stream: string,
  decider: Decider<C, E, S>,
  command: C,
  metadata: EventMetadata,
  /** The stream as the caller just loaded it: decided on first, so it is not read twice. */
  loaded?: Loaded<S>,
  attempts = 5,
): Promise<Handled<E, S>> {
  for (let attempt = 1; ; attempt++) {
    const { state, revision } = attempt === 1 && loaded ? loaded : await load(store, stream, decider);
    const decided = decider.decide(command, state);
    if (decided.length === 0) return { events: [], state, position: null };
    const events = decided.map((e) => ({ ...e, id: randomUUID() }));
    try {
      const result = await store.append(
        stream,
        events.map((e) => ({ id: e.id, type: e.type, data: e.data as JsonObject, metadata })),
        revision === -1n ? 'no_stream' : revision,
      );
      return { events, state: events.reduce(decider.evolve, state), position: result.position };
    } catch (err) {
      if (err instanceof WrongExpectedVersionError && attempt < attempts) continue;
      throw err;
    }
  }
}
