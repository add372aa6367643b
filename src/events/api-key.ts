import { idInStream } from './streams';
import { UserId } from './user';

/**
 * Events of the `apiKey-<id>` streams. The key itself is never stored: only its SHA-256 (the key
 * carries 256 random bits, so a fast hash is enough) and a short prefix to recognise it by.
 */
export type ApiKeyId = string & { readonly __brand: 'ApiKeyId' };

const API_KEY_PREFIX = 'apiKey-';
export const apiKeyStream = (id: string): string => `${API_KEY_PREFIX}${id}`;
export const apiKeyIdOf = (streamId: string): ApiKeyId => idInStream(streamId, API_KEY_PREFIX) as ApiKeyId;

/**
 * What a key may do. `read`: safe requests (GET) on the routes that take keys; `write`: changes
 * there too, within its owner's role (it includes `read`). A key gets only what it was given.
 */
export const API_KEY_SCOPES = ['read', 'write'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export type ApiKeyEvent =
  | {
      type: 'ApiKeyCreated';
      data: {
        ownerId: UserId;
        name: string;
        prefix: string;
        keyHash: string;
        permissionIds: string[];
        /** Sorted, `write` with `read`. Absent on keys made before scopes existed: they read only. */
        scopes?: ApiKeyScope[];
        expiresAt: string | null;
        createdAt: string;
      };
    }
  | { type: 'ApiKeyRevoked'; data: { at: string } };

export type ApiKeyEventType = ApiKeyEvent['type'];
