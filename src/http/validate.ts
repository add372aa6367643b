import * as yup from 'yup';
import { DomainError } from '../commands/errors';
import { fieldErrorsOf } from './problem';

/**
 * Validates input against a schema, listing every failing field. Unknown keys are dropped
 * (never mass-assigned); strings are length-capped by the schemas before any pattern runs.
 */
export function validate<S extends yup.AnyObjectSchema>(schema: S, input: unknown): yup.InferType<S> {
  const value = input === undefined || input === null ? {} : input;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new DomainError('VALIDATION_FAILED', 'The body must be a JSON object', [{ path: '', message: 'must be a JSON object' }]);
  }
  try {
    return schema.validateSync(value, { abortEarly: false, stripUnknown: true });
  } catch (e) {
    if (e instanceof yup.ValidationError) throw new DomainError('VALIDATION_FAILED', 'The request has invalid fields', fieldErrorsOf(e));
    throw e;
  }
}

/** The parsed JSON body (koa-body), as untrusted input. */
export const bodyOf = (ctx: { request: object }): unknown => (ctx.request as { body?: unknown }).body;
