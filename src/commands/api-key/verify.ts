import type { ApiKeyVerifier } from '../../http/auth';
import { CommandContext } from '../context';
import { load } from '../handle';
import { sha256 } from '../tokens';
import { userDecider } from '../user/decider';
import { apiKeyDecider, keyVerdict } from './decider';
import { parseApiKey } from './api-keys';
import { apiKeyStream } from '../../events/api-key';
import { userStream } from '../../events/user';

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
      return { via: 'api-key', sub: k.ownerId as string, role: owner.role, keyId: parsed.keyId, permissionIds: k.permissionIds, scopes: k.scopes };
    },
  };
}
