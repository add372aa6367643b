import { fail } from '../../errors';
import { Decider } from '../decider';
import { safeEqual } from '../tokens';
import { ApiKeyEvent, ApiKeyScope } from '../../events/api-key';
import { UserId } from '../../events/user';

export interface ApiKeyState {
  exists: boolean;
  ownerId: UserId | null;
  name: string;
  keyHash: string;
  permissionIds: string[];
  scopes: ApiKeyScope[];
  expiresAt: string | null;
  revoked: boolean;
}

export const initialApiKeyState = (): ApiKeyState => ({
  exists: false,
  ownerId: null,
  name: '',
  keyHash: '',
  permissionIds: [],
  scopes: [],
  expiresAt: null,
  revoked: false,
});

/** Keys made before scopes existed were meant for reading: they keep only that. */
const LEGACY_SCOPES: ApiKeyScope[] = ['read'];

/** The scopes a key holds: `write` brings `read` with it; in a fixed order. */
const normaliseScopes = (scopes: readonly ApiKeyScope[]): ApiKeyScope[] => (scopes.includes('write') ? ['read', 'write'] : ['read']);

export function evolveApiKey(s: ApiKeyState, e: ApiKeyEvent): ApiKeyState {
  switch (e.type) {
    case 'ApiKeyCreated':
      return {
        ...s,
        exists: true,
        ownerId: e.data.ownerId,
        name: e.data.name,
        keyHash: e.data.keyHash,
        permissionIds: e.data.permissionIds,
        scopes: e.data.scopes ?? LEGACY_SCOPES,
        expiresAt: e.data.expiresAt,
      };
    case 'ApiKeyRevoked':
      return { ...s, revoked: true };
  }
}

export type ApiKeyCommand =
  | {
      type: 'CreateApiKey';
      ownerId: UserId;
      name: string;
      prefix: string;
      keyHash: string;
      permissionIds: string[];
      /** At least one; `write` includes `read`. */
      scopes: readonly ApiKeyScope[];
      expiresAt: string | null;
      /** The permissions the owner holds now (from their grants stream, read by the use-case). */
      ownerPermissionIds: readonly string[];
      now: string;
    }
  | { type: 'RevokeApiKey'; actorId: UserId; now: string };

const isPast = (iso: string, now: string): boolean => Date.parse(iso) <= Date.parse(now);

export function decideApiKey(c: ApiKeyCommand, s: ApiKeyState): ApiKeyEvent[] {
  switch (c.type) {
    case 'CreateApiKey': {
      if (s.exists) fail('CONFLICT', 'API key already exists');
      if (c.expiresAt !== null && isPast(c.expiresAt, c.now)) {
        fail('VALIDATION_FAILED', 'The key would be expired already', [{ path: 'expiresAt', message: 'expiresAt must be in the future' }]);
      }
      // A key can narrow what its owner may do, never widen it.
      const notHeld = c.permissionIds.flatMap((p, i) =>
        c.ownerPermissionIds.includes(p)
          ? []
          : [{ path: `permissionIds[${i}]`, message: `permissionIds[${i}] is not a permission the owner holds` }],
      );
      if (notHeld.length) fail('VALIDATION_FAILED', 'A key can only carry permissions its owner holds', notHeld);
      if (c.scopes.length === 0)
        fail('VALIDATION_FAILED', 'A key needs at least one scope', [{ path: 'scopes', message: 'scopes must list read, write or both' }]);
      return [
        {
          type: 'ApiKeyCreated',
          data: {
            ownerId: c.ownerId,
            name: c.name,
            prefix: c.prefix,
            keyHash: c.keyHash,
            permissionIds: [...new Set(c.permissionIds)],
            scopes: normaliseScopes(c.scopes),
            expiresAt: c.expiresAt,
            createdAt: c.now,
          },
        },
      ];
    }
    case 'RevokeApiKey':
      // Someone else's key is indistinguishable from no key at all.
      if (!s.exists || s.ownerId !== c.actorId) fail('NOT_FOUND', 'API key not found');
      return s.revoked ? [] : [{ type: 'ApiKeyRevoked', data: { at: c.now } }];
  }
}

export type KeyVerdict = 'valid' | 'unknown' | 'revoked' | 'expired';

/** Whether a presented key (by its hash) opens this stream's key now. Constant-time compare. */
export function keyVerdict(s: ApiKeyState, presentedHash: string, now: string): KeyVerdict {
  if (!s.exists || !safeEqual(s.keyHash, presentedHash)) return 'unknown';
  if (s.revoked) return 'revoked';
  if (s.expiresAt !== null && isPast(s.expiresAt, now)) return 'expired';
  return 'valid';
}

export const apiKeyDecider: Decider<ApiKeyCommand, ApiKeyEvent, ApiKeyState> = {
  initialState: initialApiKeyState,
  evolve: evolveApiKey,
  decide: decideApiKey,
};
