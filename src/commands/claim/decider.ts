import { Decider } from '../decider';
import { ClaimEvent, ClaimKind } from '../../events/claim';

/**
 * How long a claim is honoured when its owner's stream does not hold the value: the bound on
 * what a write that never happened (a crash between the claim and the owner's append, a
 * release that failed) keeps blocked. Past it, the next claim of the value takes it over. It
 * must be well above the time between a claim and its owner's append in a live request
 * (milliseconds; a request gives up long before a minute), or a slow request could lose the
 * value it is about to use.
 */
export const ORPHAN_CLAIM_SECONDS = 60;

/** A claim stream folded: who holds the value, and since when. */
export interface ClaimState {
  owner: string | null;
  claimedAt: string | null;
}

export const initialClaimState = (): ClaimState => ({ owner: null, claimedAt: null });

/** Each event replaces the state whole: a claim stream says only who holds the value now. */
export function evolveClaim(_s: ClaimState, e: ClaimEvent): ClaimState {
  switch (e.type) {
    case 'ValueClaimed':
      return { owner: e.data.userId, claimedAt: e.data.at };
    case 'ValueReleased':
      return initialClaimState();
  }
}

/**
 * What the holder's own stream (the source of truth) says, read by the caller once a claim is
 * old enough to be an orphan. It names the holder it was read for: a claim that changed hands
 * since is judged without it (and, being that new, is honoured anyway).
 */
export interface HolderCheck {
  holderId: string;
  holdsValue: boolean;
}

export type ClaimCommand =
  | { type: 'ClaimValue'; kind: ClaimKind; ownerId: string; now: string; holderCheck: HolderCheck | null }
  | { type: 'ReleaseValue'; kind: ClaimKind; ownerId: string; now: string };

/** Held by someone for longer than the orphan bound: whether the holder's stream holds the value now decides. */
export const mayBeOrphaned = (s: ClaimState, now: string): boolean =>
  s.owner !== null && s.claimedAt !== null && Date.parse(now) - Date.parse(s.claimedAt) > ORPHAN_CLAIM_SECONDS * 1000;

/**
 * A claim appends only where the value is free, or held by an orphan; a value held by someone
 * else is no event and no error: the caller reads the holder from the state (a taken email is
 * an answer, not a failure). Claiming what one holds, or releasing what one does not, does nothing.
 */
export function decideClaim(c: ClaimCommand, s: ClaimState): ClaimEvent[] {
  switch (c.type) {
    case 'ClaimValue': {
      const claimed: ClaimEvent = { type: 'ValueClaimed', data: { kind: c.kind, userId: c.ownerId, at: c.now } };
      if (s.owner === null) return [claimed];
      if (s.owner === c.ownerId) return [];
      const orphaned = mayBeOrphaned(s, c.now) && c.holderCheck?.holderId === s.owner && !c.holderCheck.holdsValue;
      if (!orphaned) return [];
      return [{ type: 'ValueReleased', data: { kind: c.kind, userId: s.owner, at: c.now } }, claimed];
    }
    case 'ReleaseValue':
      return s.owner === c.ownerId ? [{ type: 'ValueReleased', data: { kind: c.kind, userId: c.ownerId, at: c.now } }] : [];
  }
}

export const claimDecider: Decider<ClaimCommand, ClaimEvent, ClaimState> = {
  initialState: initialClaimState,
  evolve: evolveClaim,
  decide: decideClaim,
};
