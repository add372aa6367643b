/**
 * Domain errors are values with a stable code; the HTTP layer maps each code to one status
 * (src/http/problem.ts). Deciders throw them; nothing else in the domain knows about HTTP.
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
  | 'UNAVAILABLE';

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

/** Too many attempts: the answer says when to try again (HTTP `Retry-After`). */
export class RateLimitedError extends DomainError {
  constructor(
    /** Which limit was hit, for the logs. */
    readonly limit: string,
    readonly retryAfterSeconds: number,
    message = 'Too many requests; try again later',
  ) {
    super('RATE_LIMITED', message);
  }
}

export const fail = (code: DomainErrorCode, message: string, errors?: FieldError[]): never => {
  throw new DomainError(code, message, errors);
};
