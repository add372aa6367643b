import { comparePositions, Position } from '../eventstore/types';

/** The newest of several positions: what a follow-up read has to wait for. */
export const latest = (...ps: (Position | null | undefined)[]): Position | null =>
  ps.reduce<Position | null>((acc, p) => (p && (!acc || comparePositions(p, acc) > 0) ? p : acc), null);
