/**
 * Connections of each load, in one place: the HTTP ceiling is measured with the connection
 * counts of the read scenarios it is compared with.
 */
export const CONNECTIONS = {
  login: 8,
  /** One session each. */
  refresh: 16,
  me: 16,
  profile: 16,
  users: 8,
  commands: 16,
  /** Paced: at most this many requests in flight. */
  lag: 64,
  /** Paced GET /api/profile of the storm scenario. */
  stormProfile: 32,
  stormLogins: 8,
  /** The commit ceiling's clients. */
  commitCeiling: 16,
} as const;
