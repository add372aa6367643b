import { apiKeysProjection } from '../../src/projections/api-keys';
import { ApiKeyEvent } from '../../src/events/api-key';
import { UserId } from '../../src/events/user';
import { eventLog, iso, uuid } from '../helpers/events';
import { projectionSpec } from '../helpers/projection-spec';

const spec = projectionSpec(apiKeysProjection);

const KEY = uuid('apiKey', 1);
const OWNER = uuid('user', 1) as UserId;
const PERMISSION = uuid('permission', 1);

type Created = Extract<ApiKeyEvent, { type: 'ApiKeyCreated' }>;
const created = (over: Partial<Created['data']> = {}): Created => ({
  type: 'ApiKeyCreated',
  data: {
    ownerId: OWNER,
    name: 'CI',
    prefix: 'iam_abcd',
    keyHash: 'sha256-of-the-key',
    permissionIds: [PERMISSION],
    scopes: ['read', 'write'],
    expiresAt: iso(3600),
    createdAt: iso(1),
    ...over,
  },
});

describe('api keys projection', () => {
  it('ApiKeyCreated: a row with its owner, name, prefix, permissions, scopes and expiry; never its hash', async () => {
    const log = eventLog();
    await spec.given(log.apiKey(KEY, created())).then({
      api_keys: [
        {
          id: KEY,
          owner_id: OWNER,
          name: 'CI',
          prefix: 'iam_abcd',
          permission_ids: [PERMISSION],
          scopes: ['read', 'write'],
          expires_at: iso(3600),
          revoked_at: null,
          created_at: iso(1),
        },
      ],
    });
    const [row] = (await spec.given(log.apiKey(KEY, created())).rows()).api_keys;
    expect(Object.values(row)).not.toContain('sha256-of-the-key');
  });

  it('a key made before scopes existed reads only; one without expiry never expires', async () => {
    const log = eventLog();
    await spec
      .given(log.apiKey(KEY, created({ scopes: undefined, expiresAt: null, permissionIds: [] })))
      .then({ api_keys: [{ scopes: ['read'], expires_at: null, permission_ids: [] }] });
  });

  it('ApiKeyRevoked: the time of the first revocation stays', async () => {
    const log = eventLog();
    await spec
      .given(
        log.apiKey(KEY, created()),
        log.apiKey(KEY, { type: 'ApiKeyRevoked', data: { at: iso(10) } }),
        log.apiKey(KEY, { type: 'ApiKeyRevoked', data: { at: iso(20) } }),
      )
      .then({ api_keys: [{ id: KEY, revoked_at: iso(10) }] });
  });
});
