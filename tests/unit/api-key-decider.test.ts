import { apiKeyDecider, ApiKeyCommand, keyVerdict } from '../../src/commands/api-key/decider';
import { newApiKey, parseApiKey } from '../../src/commands/api-key/api-keys';
import { sha256 } from '../../src/commands/tokens';
import { ApiKeyEvent } from '../../src/events/api-key';
import { UserId } from '../../src/events/user';
import { deciderSpec } from './decider-spec';

const given = deciderSpec(apiKeyDecider);

type EventOf<T extends ApiKeyEvent['type']> = Extract<ApiKeyEvent, { type: T }>;
type CommandOf<T extends ApiKeyCommand['type']> = Extract<ApiKeyCommand, { type: T }>;

const OWNER = '6f1c1f52-0d7e-4a39-9a43-0a4c3f2f9b10' as UserId;
const STRANGER = '7a2d2e63-1e8f-4b4a-8b54-1b5d4a3a0c21' as UserId;
const P1 = '11111111-1111-4111-8111-111111111111';
const P2 = '22222222-2222-4222-8222-222222222222';
const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const at = (minutes: number): string => new Date(T0 + minutes * 60_000).toISOString();

const created = (data: Partial<EventOf<'ApiKeyCreated'>['data']> = {}): EventOf<'ApiKeyCreated'> => ({
  type: 'ApiKeyCreated',
  data: {
    ownerId: OWNER,
    name: 'ci',
    prefix: 'iam_0123abcd',
    keyHash: 'hash-1',
    permissionIds: [P1],
    scopes: ['read'],
    expiresAt: at(60),
    createdAt: at(0),
    ...data,
  },
});
const revoked = (minute: number): EventOf<'ApiKeyRevoked'> => ({ type: 'ApiKeyRevoked', data: { at: at(minute) } });

const create = (opts: Partial<CommandOf<'CreateApiKey'>> = {}): CommandOf<'CreateApiKey'> => ({
  type: 'CreateApiKey',
  ownerId: OWNER,
  name: 'ci',
  prefix: 'iam_0123abcd',
  keyHash: 'hash-1',
  permissionIds: [P1],
  scopes: ['read'],
  expiresAt: at(60),
  ownerPermissionIds: [P1],
  now: at(0),
  ...opts,
});
const revoke = (actorId: UserId = OWNER, minute = 5): CommandOf<'RevokeApiKey'> => ({ type: 'RevokeApiKey', actorId, now: at(minute) });

describe('api key decider', () => {
  it('creates a key that stores only the hash', () => {
    given([]).when(create()).then([created()]);
  });

  it('creates a key that never expires', () => {
    given([])
      .when(create({ expiresAt: null }))
      .then([created({ expiresAt: null })]);
  });

  it('refuses an expiry that is not in the future', () => {
    given([])
      .when(create({ expiresAt: at(0) }))
      .then('VALIDATION_FAILED');
    given([])
      .when(create({ expiresAt: at(-1) }))
      .then('VALIDATION_FAILED');
  });

  it('refuses permissions the owner does not hold: a key narrows its owner, never widens', () => {
    given([])
      .when(create({ permissionIds: [P1, P2], ownerPermissionIds: [P1] }))
      .then('VALIDATION_FAILED');
    given([])
      .when(create({ permissionIds: [P2], ownerPermissionIds: [] }))
      .then('VALIDATION_FAILED');
    given([])
      .when(create({ permissionIds: [P1], ownerPermissionIds: [P1, P2] }))
      .then([created()]);
    given([])
      .when(create({ permissionIds: [], ownerPermissionIds: [] }))
      .then([created({ permissionIds: [] })]);
  });

  it('records the scopes it was given; write brings read with it', () => {
    given([])
      .when(create({ scopes: ['read'] }))
      .then([created({ scopes: ['read'] })]);
    given([])
      .when(create({ scopes: ['write'] }))
      .then([created({ scopes: ['read', 'write'] })]);
    given([])
      .when(create({ scopes: ['write', 'read', 'write'] }))
      .then([created({ scopes: ['read', 'write'] })]);
  });

  it('refuses a key without any scope', () => {
    given([])
      .when(create({ scopes: [] }))
      .then('VALIDATION_FAILED');
  });

  it('drops duplicate permission ids', () => {
    given([])
      .when(create({ permissionIds: [P1, P1] }))
      .then([created()]);
  });

  it('refuses to create twice on one stream', () => {
    given([created()]).when(create()).then('CONFLICT');
  });

  it('lets the owner revoke, once (a second revoke decides nothing)', () => {
    const history = given([created()])
      .when(revoke())
      .then([revoked(5)]);
    given(history).when(revoke(OWNER, 6)).then([]);
  });

  it('hides another user’s key and a missing key alike', () => {
    given([created()]).when(revoke(STRANGER)).then('NOT_FOUND');
    given([]).when(revoke()).then('NOT_FOUND');
  });
});

describe('key verdict', () => {
  const state = (events: ApiKeyEvent[]) => events.reduce(apiKeyDecider.evolve, apiKeyDecider.initialState());

  it('a key made before scopes existed (no scopes in its event) may only read', () => {
    const { scopes: _none, ...legacy } = created().data;
    expect(state([{ type: 'ApiKeyCreated', data: legacy }]).scopes).toEqual(['read']);
    expect(state([created({ scopes: ['read', 'write'] })]).scopes).toEqual(['read', 'write']);
  });

  it('accepts the right key before expiry', () => {
    expect(keyVerdict(state([created()]), 'hash-1', at(59))).toBe('valid');
    expect(keyVerdict(state([created({ expiresAt: null })]), 'hash-1', at(1e6))).toBe('valid');
  });

  it('refuses a wrong key, a missing key, a revoked key and an expired key', () => {
    expect(keyVerdict(state([created()]), 'hash-2', at(1))).toBe('unknown');
    expect(keyVerdict(state([]), 'hash-1', at(1))).toBe('unknown');
    expect(keyVerdict(state([created(), revoked(2)]), 'hash-1', at(3))).toBe('revoked');
    expect(keyVerdict(state([created()]), 'hash-1', at(60))).toBe('expired');
  });
});

describe('key format', () => {
  it('carries its id and 256 random bits, recognisably', () => {
    const id = '0b5f8c1e-3d4a-4f6b-8c7d-9e0f1a2b3c4d';
    const key = newApiKey(id);
    expect(key).toMatch(/^iam_0b5f8c1e3d4a4f6b8c7d9e0f1a2b3c4d_[A-Za-z0-9_-]{43}$/);
    expect(parseApiKey(key)).toEqual({ keyId: id });
    expect(newApiKey(id)).not.toBe(key);
    expect(sha256(key)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('rejects anything else', () => {
    for (const bad of [
      '',
      'iam_',
      'iam_xyz_abc',
      `iam_${'0'.repeat(32)}_short`,
      `sk_${'0'.repeat(32)}_${'a'.repeat(43)}`,
      `iam_${'0'.repeat(32)}_${'a'.repeat(44)}`,
    ]) {
      expect(parseApiKey(bad)).toBeNull();
    }
  });
});
