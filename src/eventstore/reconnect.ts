const FIRST_MS = 100;
const MAX_MS = 5000;

/**
 * How long to wait before reconnecting after `failures` failed attempts in a row (0: the
 * connection was just lost): doubling from 100 ms up to 5 s, each a random 50-100% of that so
 * the processes a server restart disconnected do not all come back at the same instant.
 */
export const reconnectDelayMs = (failures: number, random: () => number = Math.random): number =>
  Math.round(Math.min(MAX_MS, FIRST_MS * 2 ** failures) * (0.5 + random() / 2));
