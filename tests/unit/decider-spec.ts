import { Decider } from '../../src/commands/decider';
import { DomainError, DomainErrorCode } from '../../src/errors';

/**
 * Given/When/Then over a decider: fold the given events with `evolve`, `decide` the command, and
 * assert either the events decided (toEqual) or the code of the DomainError thrown.
 *
 *   const given = deciderSpec(userDecider);
 *   given([registered()]).when(login()).then([loggedIn()]);
 *   given([]).when(login()).then('INVALID_CREDENTIALS');
 *
 * `then` returns the given events followed by the decided ones, so a scenario can go on from
 * what was actually decided (single use, chains of rotations) instead of restating it.
 */
export interface Then<E> {
  then(expected: E[] | DomainErrorCode): E[];
  /** The decided events, unchecked; for scenarios that assert on them piecemeal. */
  decided(): E[];
}

export interface When<C, E> {
  when(command: C): Then<E>;
}

const describeError = (e: unknown): string => (e instanceof DomainError ? `DomainError ${e.code} (${e.message})` : String(e));

export function deciderSpec<C, E, S>(decider: Decider<C, E, S>): (given: E[]) => When<C, E> {
  return (given) => ({
    when: (command) => {
      const decide = (): E[] => decider.decide(command, given.reduce(decider.evolve, decider.initialState()));
      return {
        decided: decide,
        then: (expected) => {
          if (typeof expected === 'string') {
            let thrown: unknown;
            let produced: E[] | undefined;
            try {
              produced = decide();
            } catch (e) {
              thrown = e;
            }
            if (thrown === undefined) {
              throw new Error(`Expected DomainError ${expected}, but the decider returned ${JSON.stringify(produced)}`);
            }
            if (!(thrown instanceof DomainError)) throw thrown;
            expect(thrown.code).toBe(expected);
            return given;
          }
          let produced: E[];
          try {
            produced = decide();
          } catch (e) {
            throw new Error(`Expected events ${JSON.stringify(expected)}, but the decider threw ${describeError(e)}`);
          }
          expect(produced).toEqual(expected);
          return [...given, ...produced];
        },
      };
    },
  });
}
