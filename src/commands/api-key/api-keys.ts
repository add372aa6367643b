import { randomBytes, randomUUID } from 'node:crypto';
import { CommandContext, RequestMeta } from '../context';
import { handle } from '../handle';
import { loadGrants } from '../permission/grants';
import { sha256 } from '../tokens';
import { apiKeyDecider } from './decider';
import { ApiKeyId, ApiKeyScope, apiKeyStream } from '../../events/api-key';
import { UserId } from '../../events/user';
import { Position } from '../../eventstore/types';

/**
 * Keys are `iam_<key id, 32 hex>_<43 chars of base64url: 256 random bits>`: recognisable by
 * secret scanners, and the key's stream is found from the key itself without a lookup table.
 */
const KEY_PATTERN = /^iam_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$/;
/** What the owner sees in lists to tell keys apart: `iam_` and the first 8 hex of the id. */
const PREFIX_LENGTH = 12;

const dashed = (hex: string): string => `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;

export const newApiKey = (id: string): string => `iam_${id.replace(/-/g, '')}_${randomBytes(32).toString('base64url')}`;

export const parseApiKey = (key: string): { keyId: ApiKeyId } | null => {
  const m = KEY_PATTERN.exec(key);
  return m ? { keyId: dashed(m[1]) as ApiKeyId } : null;
};

export interface CreatedApiKey {
  id: ApiKeyId;
  name: string;
  prefix: string;
  /** The only time the key exists outside the caller's hands. */
  key: string;
  permissionIds: string[];
  scopes: ApiKeyScope[];
  expiresAt: string | null;
  createdAt: string;
  position: Position | null;
}

export async function createApiKey(
  ctx: CommandContext,
  ownerId: UserId,
  input: { name: string; permissionIds: string[]; scopes: ApiKeyScope[]; expiresAt: string | null },
  meta: RequestMeta,
): Promise<CreatedApiKey> {
  const id = randomUUID() as ApiKeyId;
  const key = newApiKey(id);
  const prefix = key.slice(0, PREFIX_LENGTH);
  const now = ctx.clock().toISOString();
  // What the owner holds, from their grants stream: a decision reads no read table.
  const ownerPermissionIds = input.permissionIds.length ? (await loadGrants(ctx, ownerId)).permissionIds : [];
  const r = await handle(
    ctx.store,
    apiKeyStream(id),
    apiKeyDecider,
    {
      type: 'CreateApiKey',
      ownerId,
      name: input.name,
      prefix,
      keyHash: sha256(key),
      permissionIds: input.permissionIds,
      scopes: input.scopes,
      expiresAt: input.expiresAt,
      ownerPermissionIds,
      now,
    },
    meta,
  );
  return {
    id,
    name: input.name,
    prefix,
    key,
    permissionIds: r.state.permissionIds,
    scopes: r.state.scopes,
    expiresAt: input.expiresAt,
    createdAt: now,
    position: r.position,
  };
}

/** Revokes one of the caller's keys; it stops working at once (the verifier reads the stream). */
export async function revokeApiKey(ctx: CommandContext, ownerId: UserId, id: string, meta: RequestMeta): Promise<Position | null> {
  return (
    await handle(
      ctx.store,
      apiKeyStream(id),
      apiKeyDecider,
      { type: 'RevokeApiKey', actorId: ownerId, now: ctx.clock().toISOString() },
      meta,
    )
  ).position;
}
