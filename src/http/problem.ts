import { Context, Next } from 'koa';
import { ValidationError } from 'yup';
import { ContentionError, DomainError, DomainErrorCode, FieldError, RateLimitedError, RetryLaterError } from '../errors';
import { WrongExpectedVersionError } from '../eventstore/types';

/** The one place where a domain error code becomes an HTTP status (RFC 9457 problem details). */
const STATUS: Record<DomainErrorCode, number> = {
  VALIDATION_FAILED: 422,
  INVALID_CREDENTIALS: 401,
  WRONG_PASSWORD: 400,
  EMAIL_NOT_VERIFIED: 403,
  INVALID_TOKEN: 400,
  CONFLICT: 409,
  NOT_FOUND: 404,
  FORBIDDEN: 403,
  UNAUTHENTICATED: 401,
  SESSION_REVOKED: 401,
  REFRESH_TOKEN_ROTATED: 401,
  ACCOUNT_DEACTIVATED: 403,
  RATE_LIMITED: 429,
  CSRF_REJECTED: 403,
  UNAVAILABLE: 503,
  CONTENTION: 503,
};

/** A 503 that does not say when (a dependency down): clients come back after this long. */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

/** Codes for statuses that arise outside the domain (parsing, routing). */
const CODE_OF_STATUS: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

export function sendProblem(ctx: Context, status: number, code: string, detail: string, errors?: FieldError[]): void {
  ctx.status = status;
  ctx.type = 'application/problem+json';
  ctx.body = {
    type: `https://iam-es.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    ...(errors && errors.length ? { errors } : {}),
  };
}

/** One entry per failing field (its first failed rule), in the order the fields failed. */
export const fieldErrorsOf = (e: ValidationError): FieldError[] => {
  const byPath = new Map<string, string>();
  for (const x of e.inner.length ? e.inner : [e]) if (!byPath.has(x.path ?? '')) byPath.set(x.path ?? '', x.message);
  return [...byPath].map(([path, message]) => ({ path, message }));
};

interface HttpishError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  type?: string;
  message?: string;
  code?: string;
  name?: string;
}

/**
 * PostgreSQL gone, or gone mid-query (a terminated backend, a restart, a failover): SQLSTATE
 * admin/crash shutdown and connection exceptions, the socket errors, and the drivers' own words.
 */
const CONNECTION_LOST = new Set(['57P01', '57P02', '57P03', '08000', '08003', '08006', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE']);
const isConnectionLoss = (e: HttpishError): boolean =>
  CONNECTION_LOST.has(e.code ?? '') || e.name === 'KnexTimeoutError' || /^Connection terminated/.test(e.message ?? '');

/** Turns every error into problem+json; never leaks a stack trace. */
export async function problemMiddleware(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
    if (ctx.body === undefined) {
      if (ctx.status === 404) sendProblem(ctx, 404, 'NOT_FOUND', `No route for ${ctx.method} ${ctx.path}`);
      // The routers' allowedMethods set these, with the Allow header, and no body.
      else if (ctx.status === 405) sendProblem(ctx, 405, 'METHOD_NOT_ALLOWED', `${ctx.method} is not allowed here; see the Allow header`);
      else if (ctx.status === 501) sendProblem(ctx, 501, 'NOT_IMPLEMENTED', `${ctx.method} is not supported`);
    }
  } catch (thrown) {
    // An append that lost its race outside handle()'s retries (claims, seeds) is contention too.
    const err = thrown instanceof WrongExpectedVersionError ? new ContentionError(thrown.stream) : thrown;
    if (err instanceof DomainError) {
      const status = STATUS[err.code];
      sendProblem(ctx, status, err.code, err.message, err.errors);
      if (err instanceof RetryLaterError) ctx.set('Retry-After', String(err.retryAfterSeconds));
      else if (status === 503) ctx.set('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
      if (err instanceof RateLimitedError)
        ctx.state.log?.warn({ limit: err.limit, ip: ctx.ip, retryAfter: err.retryAfterSeconds }, 'rate limited');
      if (err instanceof ContentionError) ctx.state.log?.warn({ stream: err.stream }, 'write contention outlasted the retries');
      if (err.code === 'CSRF_REJECTED') ctx.state.log?.warn({ origin: ctx.get('origin') || null }, 'cross-site request refused');
      return;
    }
    if (err instanceof ValidationError) {
      sendProblem(ctx, 422, 'VALIDATION_FAILED', 'The request has invalid fields', fieldErrorsOf(err));
      return;
    }
    const e = err as HttpishError;
    const status = e.status ?? e.statusCode ?? 500;
    if (status === 400 && (e.type === 'entity.parse.failed' || err instanceof SyntaxError)) {
      // The JSON parser (co-body, with bourne) also refuses a "__proto__" key outright.
      const proto = /prototype property/.test(e.message ?? '');
      sendProblem(ctx, 400, 'MALFORMED_JSON', proto ? 'The body may not contain a "__proto__" key' : 'The body is not valid JSON');
    } else if (status === 413 || e.type === 'entity.too.large') {
      sendProblem(ctx, 413, 'PAYLOAD_TOO_LARGE', 'The body is too large');
    } else if (isConnectionLoss(e)) {
      // A dependency, not a bug: the client may retry, as after any 503.
      ctx.state.log?.warn({ err }, 'database connection lost');
      sendProblem(ctx, 503, 'UNAVAILABLE', 'A dependency is unavailable; try again shortly');
      ctx.set('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
    } else if (status >= 400 && status < 500) {
      sendProblem(
        ctx,
        status,
        CODE_OF_STATUS[status] ?? 'BAD_REQUEST',
        e.expose && e.message ? e.message : (TITLES[status] ?? 'Bad request'),
      );
    } else {
      ctx.state.log?.error({ err }, 'unhandled error');
      sendProblem(ctx, 500, 'INTERNAL', 'Something went wrong on our side');
    }
  }
}
