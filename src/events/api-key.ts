import { UserId } from './user';

/**
 * Events of the `apiKey-<id>` streams. The key itself is never stored: only its SHA-256 (the key
 * carries 256 random bits, so a fast hash is enough) and a short prefix to recognise it by.
 */
export type ApiKeyId = string & { readonly __brand: 'ApiKeyId' };

export const apiKeyStream = (id: string): string => `apiKey-${id}`;

export type ApiKeyEvent =
  | {
      type: 'ApiKeyCreated';
      data: {
        ownerId: UserId;
        name: string;
        prefix: string;
        keyHash: string;
        permissionIds: string[];
        expiresAt: string | null;
        createdAt: string;
      };
    }
  | { type: 'ApiKeyRevoked'; data: { at: string } };

export type ApiKeyEventType = ApiKeyEvent['type'];
