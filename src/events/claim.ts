import { createHash } from 'node:crypto';

/**
 * Uniqueness claims: one stream per normalised value (`emailClaim-<sha256>`), appended with
 * `no_stream` (or after a release, at the release's revision). The stream name hides the value.
 * `userId` in the events is the owner's id: a user for email and username, a service or a
 * permission for their names (the field keeps its first name so stored events stay readable).
 */
export type ClaimKind = 'email' | 'username' | 'serviceName' | 'permissionName';

export type ClaimEvent =
  | { type: 'ValueClaimed'; data: { kind: ClaimKind; userId: string; at: string } }
  | { type: 'ValueReleased'; data: { kind: ClaimKind; userId: string; at: string } };

export const normaliseEmail = (email: string): string => email.trim().toLowerCase();
export const normaliseUsername = (username: string): string => username.trim().toLowerCase();
/** Service and permission names are unique case-insensitively, with runs of spaces as one. */
export const normaliseCatalogueName = (name: string): string => name.trim().replace(/\s+/g, ' ').toLowerCase();

export const claimStream = (kind: ClaimKind, normalised: string): string =>
  `${kind}Claim-${createHash('sha256').update(normalised).digest('hex')}`;
