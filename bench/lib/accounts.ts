/**
 * The seeded accounts as the scenarios address them: shared by the seed, the orchestration and
 * the load processes (which build login requests themselves and must not load the seed).
 */

/** Every seeded user's password (hashed once for all of them by the seed). */
export const PASSWORD = 'Bench-password-1!';
export const ADMIN_EMAIL = 'admin@bench.example.com';
export const seedEmail = (i: number): string => `user${i}@bench.example.com`;

/**
 * Users 0-999 hold the sessions of the read and refresh scenarios: logins never sign them in
 * again (a sixth session of a user ends its oldest one).
 */
export const HELD_USERS = 1000;

/** The n-th login of a run: round-robin over the other seeded users, each request a different user. */
export const loginEmail = (n: number, users: number): string => seedEmail(HELD_USERS + (n % (users - HELD_USERS)));
