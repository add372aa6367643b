import { DomainEvent } from '../../src/events/registry';
import { ApiKeyEvent, apiKeyStream } from '../../src/events/api-key';
import { ClaimEvent, ClaimKind, claimStream } from '../../src/events/claim';
import { ContentEvent, contentStream } from '../../src/events/content';
import { PermissionEvent, permissionStream, UserGrantsEvent, userGrantsStream } from '../../src/events/permission';
import { CatalogueSeedEvent, SEED_CATALOGUE_STREAM, ServiceEvent, serviceStream } from '../../src/events/service';
import { SessionEvent, sessionStream } from '../../src/events/session';
import { UserEvent, UserId, userStream } from '../../src/events/user';
import { EventMetadata, JsonObject, RecordedEvent } from '../../src/eventstore/types';

/** When the events of an `eventLog()` happen: the n-th event is recorded n seconds after T0. */
export const T0 = Date.parse('2031-05-01T10:00:00.000Z');

/** The moment `seconds` after T0, as events' data write it. */
export const iso = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

/**
 * A log of stored events for projection specs, built from typed domain events: each stream's
 * builder takes only its own union, so a misspelt type or field does not compile. Every event
 * gets the next global position, its stream's next revision and a `createdAt` one second after
 * the one before (the n-th at `iso(n)`).
 */
export function eventLog() {
  let seq = 0;
  const revisions = new Map<string, bigint>();
  const append = <E extends DomainEvent>(streamId: string, event: E, metadata: EventMetadata = {}): RecordedEvent => {
    seq++;
    const revision = (revisions.get(streamId) ?? -1n) + 1n;
    revisions.set(streamId, revision);
    return {
      id: `00000000-0000-4000-8000-${seq.toString(16).padStart(12, '0')}`,
      type: event.type,
      streamId,
      revision,
      position: { commit: BigInt(seq), prepare: BigInt(seq) },
      data: event.data as JsonObject,
      metadata,
      createdAt: new Date(T0 + seq * 1000),
    };
  };
  return {
    user: (id: string, e: UserEvent, metadata?: EventMetadata) => append(userStream(id), e, metadata),
    session: (id: string, e: SessionEvent, metadata?: EventMetadata) => append(sessionStream(id), e, metadata),
    service: (id: string, e: ServiceEvent, metadata?: EventMetadata) => append(serviceStream(id), e, metadata),
    catalogueSeed: (e: CatalogueSeedEvent, metadata?: EventMetadata) => append(SEED_CATALOGUE_STREAM, e, metadata),
    permission: (id: string, e: PermissionEvent, metadata?: EventMetadata) => append(permissionStream(id), e, metadata),
    userGrants: (userId: string, e: UserGrantsEvent, metadata?: EventMetadata) => append(userGrantsStream(userId), e, metadata),
    content: (id: string, e: ContentEvent, metadata?: EventMetadata) => append(contentStream(id), e, metadata),
    apiKey: (id: string, e: ApiKeyEvent, metadata?: EventMetadata) => append(apiKeyStream(id), e, metadata),
    claim: (kind: ClaimKind, normalised: string, e: ClaimEvent, metadata?: EventMetadata) =>
      append(claimStream(kind, normalised), e, metadata),
  };
}

const ID_KINDS = { user: 'a', session: 'b', service: 'c', permission: 'd', apiKey: 'e', content: 'f' } as const;

/** Ids that read as what they are in a failure message: `uuid('user', 1)` is aaaaaaaa-0000-4000-8000-000000000001. */
export const uuid = (kind: keyof typeof ID_KINDS, n: number): string =>
  `${ID_KINDS[kind].repeat(8)}-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** A sign-up, with what a test does not care about filled in. */
export const userRegistered = (
  userId: string,
  over: Partial<Extract<UserEvent, { type: 'UserRegistered' }>['data']> = {},
): Extract<UserEvent, { type: 'UserRegistered' }> => ({
  type: 'UserRegistered',
  data: {
    userId: userId as UserId,
    email: 'ada@example.com',
    username: null,
    firstName: 'Ada',
    lastName: 'Lovelace',
    name: null,
    profile: null,
    role: 'viewer',
    passwordHash: '$2a$04$hash-of-the-password',
    emailVerified: false,
    registeredAt: iso(0),
    ...over,
  },
});
