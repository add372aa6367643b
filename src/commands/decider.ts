/** A decider: pure decisions over the events of one stream (Chassaing's pattern, as in Emmett). */
export interface Decider<C, E, S> {
  initialState: () => S;
  evolve: (state: S, event: E) => S;
  decide: (command: C, state: S) => E[];
}
