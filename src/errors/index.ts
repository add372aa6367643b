/**
 * Domain errors are values with a stable code; the HTTP layer maps each code to one status
 * (src/http/problem.ts). Deciders throw them; nothing else in the domain knows about HTTP.
 * A leaf at the bottom of the layers (it imports nothing), so every layer may raise them:
 * infra's rate limits and revocation list as well as the deciders.
 */
export type DomainErrorCode =
  | 'VALIDATION_FAILED'
  | 'INVALID_CREDENTIALS'
  | 'WRONG_PASSWORD'
  | 'EMAIL_NOT_VERIFIED'
  | 'INVALID_TOKEN'
  | 'CONFLICT'
  | 'NOT_FOUND'
  | 'FORBIDDEN'
  | 'UNAUTHENTICATED'
  | 'SESSION_REVOKED'
  | 'REFRESH_TOKEN_ROTATED'
  | 'ACCOUNT_DEACTIVATED'
  | 'RATE_LIMITED'
  | 'CSRF_REJECTED'
  | 'UNAVAILABLE'
  | 'CONTENTION';

export interface FieldError {
  path: string;
  message: string;
}

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly errors?: FieldError[],
  ) {
    super(message);
  }
}

/** Nothing wrong with the request, only its moment: the answer says when to try again (HTTP `Retry-After`). */
export class RetryLaterError extends DomainError {
  constructor(
    code: DomainErrorCode,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(code, message);
  }
}

/** Too many attempts. */
export class RateLimitedError extends RetryLaterError {
  constructor(
    /** Which limit was hit, for the logs. */
    readonly limit: string,
    retryAfterSeconds: number,
    message = 'Too many requests; try again later',
  ) {
    super('RATE_LIMITED', message, retryAfterSeconds);
  }
}

/**
 * A write that lost every race for its stream (see handle): many concurrent changes to one
 * account or session. Worth retrying in a moment, so it is a 503 with Retry-After, not a 500.
 */
export class ContentionError extends RetryLaterError {
  constructor(readonly stream: string) {
    super('CONTENTION', 'Too many concurrent changes to the same account or session; try again in a moment', 1);
  }
}

export const fail = (code: DomainErrorCode, message: string, errors?: FieldError[]): never => {
  throw new DomainError(code, message, errors);
};
