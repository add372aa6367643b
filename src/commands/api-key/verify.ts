import { CommandContext } from '../context';
import { load } from '../handle';
import { sha256 } from '../tokens';
import { userDecider } from '../user/decider';
import { apiKeyDecider, keyVerdict } from './decider';
import { parseApiKey } from './api-keys';
import { ApiKeyScope, apiKeyStream } from '../../events/api-key';
import { Role, userStream } from '../../events/user';

/** Whom a valid API key acts as: its owner, with the owner's current role, within the key's scopes and permissions. */
export interface ApiKeyPrincipal {
  via: 'api-key';
  sub: string;
  role: Role;
  keyId: string;
  permissionIds: string[];
  scopes: ApiKeyScope[];
}

/**
 * Turns an `X-API-Key` value into its principal, or null (unknown, revoked, expired, owner gone).
 * The port the HTTP layer authenticates keys through; it lives here, with its implementation,
 * so the write side never imports the HTTP layer.
 */
export interface ApiKeyVerifier {
  verify(key: string): Promise<ApiKeyPrincipal | null>;
}

/**
 * Resolves an X-API-Key to its owner and the key's permissions, from the source of truth: the
 * key's stream (hash compared in constant time; revoked or expired is refused) and the owner's
 * stream (gone or deactivated is refused; the role is the owner's current one). No cache, so a
 * revocation or a role change holds on the very next request, on every instance.
 */
export function createApiKeyVerifier(cmd: CommandContext): ApiKeyVerifier {
  return {
    async verify(key) {
      const parsed = parseApiKey(key);
      if (!parsed) return null;
      const { state: k } = await load(cmd.store, apiKeyStream(parsed.keyId), apiKeyDecider);
      if (keyVerdict(k, sha256(key), cmd.clock().toISOString()) !== 'valid') return null;
      const { state: owner } = await load(cmd.store, userStream(k.ownerId as string), userDecider);
      if (!owner.exists || owner.deactivated) return null;
      return {
        via: 'api-key',
        sub: k.ownerId as string,
        role: owner.role,
        keyId: parsed.keyId,
        permissionIds: k.permissionIds,
        scopes: k.scopes,
      };
    },
  };
}
