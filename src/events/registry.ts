import { RecordedEvent } from '../eventstore/types';
import { ApiKeyEvent } from './api-key';
import { ClaimEvent } from './claim';
import { ContentEvent } from './content';
import { PermissionEvent, UserGrantsEvent } from './permission';
import { CatalogueSeedEvent, ServiceEvent } from './service';
import { SessionEvent } from './session';
import { UserEvent } from './user';

/** Each stream category's events. */
interface Categories {
  user: UserEvent;
  session: SessionEvent;
  claim: ClaimEvent;
  content: ContentEvent;
  apiKey: ApiKeyEvent;
  service: ServiceEvent;
  catalogueSeed: CatalogueSeedEvent;
  permission: PermissionEvent;
  userGrants: UserGrantsEvent;
}
export type Category = keyof Categories;

/** Every event there is. */
export type DomainEvent = Categories[Category];
export type EventType = DomainEvent['type'];
export type EventOf<T extends EventType> = Extract<DomainEvent, { type: T }>;

/**
 * A stored event read as its domain event: the store's id, stream, position and metadata, with
 * the type's own payload (over a union, a switch on `type` narrows `data`).
 */
export type Recorded<E extends DomainEvent = DomainEvent> = Omit<RecordedEvent, 'type' | 'data'> & E;
/** A stored event of one of these types. */
export type RecordedOf<T extends EventType> = Recorded<EventOf<T>>;

/**
 * Every event type, by the category of stream it is appended to. A type added to a union and
 * not here, or listed here and in no union, fails to compile; a union of a new category that is
 * not in DomainEvent fails tests/unit/event-registry.test.ts.
 */
const BY_CATEGORY: { [C in Category]: Record<Categories[C]['type'], true> } = {
  user: {
    UserRegistered: true,
    EmailVerificationRequested: true,
    EmailVerified: true,
    RegistrationAttemptedOnExistingAccount: true,
    UserLoggedIn: true,
    SessionEnded: true,
    AllSessionsEnded: true,
    PasswordChanged: true,
    PasswordResetRequested: true,
    PasswordReset: true,
    ProfileUpdated: true,
    EmailChangeRequested: true,
    UserDeactivated: true,
    UserRestored: true,
    RoleChanged: true,
  },
  session: { SessionStarted: true, SessionRefreshed: true, SessionRevoked: true },
  claim: { ValueClaimed: true, ValueReleased: true },
  content: { ContentCreated: true, ContentUpdated: true, ContentDeleted: true },
  apiKey: { ApiKeyCreated: true, ApiKeyRevoked: true },
  service: { ServiceCreated: true, ServiceUpdated: true, ServiceDeleted: true },
  catalogueSeed: { CatalogueSeeded: true },
  permission: { PermissionCreated: true, PermissionUpdated: true, PermissionDeleted: true },
  userGrants: { UserPermissionsSet: true },
};

/** The event types of one category, in the order listed above. */
export const typesOf = <C extends Category>(category: C): Categories[C]['type'][] =>
  Object.keys(BY_CATEGORY[category]) as Categories[C]['type'][];

export const EVENT_TYPES: readonly EventType[] = (Object.keys(BY_CATEGORY) as Category[]).flatMap((c) => typesOf(c));

/**
 * Where a stored event is taken for a domain event (here and in decode, nowhere else): the store
 * keeps `type` as text and `data` as JSON, and a type admitted is trusted to carry its type's
 * payload (only deciders write events; a changed payload gets a new type name, never an edit in
 * place). Projections and reactors get events through the guard of the types they list.
 */
export function eventsOf<const T extends EventType>(types: readonly T[]): (r: RecordedEvent) => r is Recorded<EventOf<T>> {
  const listed = new Set<string>(types);
  return (r): r is Recorded<EventOf<T>> => listed.has(r.type);
}

const isDomainEvent = eventsOf(EVENT_TYPES);

/**
 * A stream's event as its domain event. `E` is the union of the stream's category (a decider reads
 * only its own streams); a type this code does not know (one a newer version wrote?) is an error,
 * not a guess.
 */
export function decode<E extends DomainEvent = DomainEvent>(r: RecordedEvent): Recorded<E> {
  if (!isDomainEvent(r)) throw new Error(`unknown event type ${r.type} in ${r.streamId}`);
  return r as unknown as Recorded<E>;
}

/** The `never` check that closes a switch over event types: a type left out fails to compile there. */
export function unhandled(e: never): never {
  throw new Error(`unhandled event ${String((e as { type?: unknown }).type)}`);
}
