import { claimDecider, ClaimCommand, ClaimState, HolderCheck, mayBeOrphaned, ORPHAN_CLAIM_SECONDS } from '../../src/commands/claim/decider';
import { ClaimEvent } from '../../src/events/claim';
import { deciderSpec } from './decider-spec';

const given = deciderSpec(claimDecider);

const ADA = 'a0000000-0000-4000-8000-000000000001';
const BOB = 'b0000000-0000-4000-8000-000000000002';
const CAROL = 'c0000000-0000-4000-8000-000000000003';

const T0 = Date.parse('2031-05-01T10:00:00.000Z');
/** The moment `seconds` after T0. */
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

const claimed = (userId: string, seconds = 0): ClaimEvent => ({ type: 'ValueClaimed', data: { kind: 'email', userId, at: at(seconds) } });
const released = (userId: string, seconds = 0): ClaimEvent => ({ type: 'ValueReleased', data: { kind: 'email', userId, at: at(seconds) } });

const claim = (ownerId: string, seconds = 0, holderCheck: HolderCheck | null = null): ClaimCommand => ({
  type: 'ClaimValue',
  kind: 'email',
  ownerId,
  now: at(seconds),
  holderCheck,
});
const release = (ownerId: string, seconds = 0): ClaimCommand => ({ type: 'ReleaseValue', kind: 'email', ownerId, now: at(seconds) });

const PAST_BOUND = ORPHAN_CLAIM_SECONDS + 1;

describe('claim decider', () => {
  describe('ClaimValue', () => {
    it('claims a value nobody ever claimed', () => {
      given([])
        .when(claim(ADA))
        .then([claimed(ADA)]);
    });

    it('claims a value given back', () => {
      given([claimed(BOB), released(BOB, 5)])
        .when(claim(ADA, 10))
        .then([claimed(ADA, 10)]);
    });

    it('does nothing for the value its owner already holds, however old the claim', () => {
      given([claimed(ADA)])
        .when(claim(ADA, 1))
        .then([]);
      given([claimed(ADA)])
        .when(claim(ADA, PAST_BOUND, { holderId: ADA, holdsValue: false }))
        .then([]);
    });

    it("leaves another owner's claim alone: nothing decided, the state names the holder", () => {
      const history = [claimed(BOB)];
      given(history).when(claim(ADA, 1)).then([]);
      expect(history.reduce(claimDecider.evolve, claimDecider.initialState()).owner).toBe(BOB);
    });

    it(`honours a claim its holder does not use for ${ORPHAN_CLAIM_SECONDS} s, even when told its holder's stream lacks the value`, () => {
      given([claimed(BOB)])
        .when(claim(ADA, ORPHAN_CLAIM_SECONDS, { holderId: BOB, holdsValue: false }))
        .then([]);
    });

    it("takes over an orphan: older than the bound, and its holder's stream does not hold the value", () => {
      given([claimed(BOB)])
        .when(claim(ADA, PAST_BOUND, { holderId: BOB, holdsValue: false }))
        .then([released(BOB, PAST_BOUND), claimed(ADA, PAST_BOUND)]);
    });

    it('honours an old claim whose holder holds the value (a long-standing account)', () => {
      given([claimed(BOB)])
        .when(claim(ADA, 86_400, { holderId: BOB, holdsValue: true }))
        .then([]);
    });

    it("honours an old claim while nobody has read its holder's stream", () => {
      given([claimed(BOB)])
        .when(claim(ADA, PAST_BOUND))
        .then([]);
    });

    it('honours an old claim when what was read is about another holder (the claim changed hands since)', () => {
      given([claimed(CAROL), released(CAROL, 1), claimed(BOB, 2)])
        .when(claim(ADA, PAST_BOUND + 2, { holderId: CAROL, holdsValue: false }))
        .then([]);
    });

    it('counts the bound from the latest claim, not the first', () => {
      const history = [claimed(CAROL), released(CAROL, 30), claimed(BOB, 40)];
      given(history)
        .when(claim(ADA, PAST_BOUND, { holderId: BOB, holdsValue: false }))
        .then([]);
      given(history)
        .when(claim(ADA, 40 + PAST_BOUND, { holderId: BOB, holdsValue: false }))
        .then([released(BOB, 40 + PAST_BOUND), claimed(ADA, 40 + PAST_BOUND)]);
    });

    it('records the kind of value claimed', () => {
      given([])
        .when({ type: 'ClaimValue', kind: 'serviceName', ownerId: ADA, now: at(0), holderCheck: null })
        .then([{ type: 'ValueClaimed', data: { kind: 'serviceName', userId: ADA, at: at(0) } }]);
    });
  });

  describe('ReleaseValue', () => {
    it('gives back a value its owner holds', () => {
      given([claimed(ADA)])
        .when(release(ADA, 3))
        .then([released(ADA, 3)]);
    });

    it("does nothing for a value someone else holds (a late release cannot free another's claim)", () => {
      given([claimed(ADA), released(ADA, 1), claimed(BOB, 2)])
        .when(release(ADA, 3))
        .then([]);
    });

    it('does nothing for a value nobody holds, or already given back', () => {
      given([]).when(release(ADA)).then([]);
      given([claimed(ADA), released(ADA, 1)])
        .when(release(ADA, 2))
        .then([]);
    });

    it('a released value can be claimed again by its old owner', () => {
      const history = given([claimed(ADA)])
        .when(release(ADA, 1))
        .then([released(ADA, 1)]);
      given(history)
        .when(claim(ADA, 2))
        .then([claimed(ADA, 2)]);
    });
  });

  it('mayBeOrphaned: held, and for longer than the bound', () => {
    const fold = (events: ClaimEvent[]): ClaimState => events.reduce(claimDecider.evolve, claimDecider.initialState());
    expect(mayBeOrphaned(fold([]), at(PAST_BOUND))).toBe(false);
    expect(mayBeOrphaned(fold([claimed(BOB)]), at(ORPHAN_CLAIM_SECONDS))).toBe(false);
    expect(mayBeOrphaned(fold([claimed(BOB)]), at(PAST_BOUND))).toBe(true);
    expect(mayBeOrphaned(fold([claimed(BOB), released(BOB, 1)]), at(PAST_BOUND + 1))).toBe(false);
  });
});
