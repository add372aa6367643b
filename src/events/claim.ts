import { createHash } from 'node:crypto';

/**
 * Uniqueness claims: one stream per normalised value (`emailClaim-<sha256>`), appended with
 * `no_stream` (or after a release, at the release's revision). The stream name hides the value.
 */
export type ClaimKind = 'email' | 'username';

export type ClaimEvent =
  | { type: 'ValueClaimed'; data: { kind: ClaimKind; userId: string; at: string } }
  | { type: 'ValueReleased'; data: { kind: ClaimKind; userId: string; at: string } };

export const normaliseEmail = (email: string): string => email.trim().toLowerCase();
export const normaliseUsername = (username: string): string => username.trim().toLowerCase();

export const claimStream = (kind: ClaimKind, normalised: string): string =>
  `${kind}Claim-${createHash('sha256').update(normalised).digest('hex')}`;
