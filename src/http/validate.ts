import * as yup from 'yup';
import { DomainError, FieldError } from '../commands/errors';
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
  // yup's string transforms (trim, lowercase) throw on arrays and objects: refuse those first.
  const wrongShape = shapeErrors(schema, value, '');
  if (wrongShape.length) throw new DomainError('VALIDATION_FAILED', 'The request has invalid fields', wrongShape);
  try {
    return schema.validateSync(value, { abortEarly: false, stripUnknown: true });
  } catch (e) {
    if (e instanceof yup.ValidationError) throw new DomainError('VALIDATION_FAILED', 'The request has invalid fields', fieldErrorsOf(e));
    throw e;
  }
}

const isStructured = (v: unknown): boolean => typeof v === 'object' && v !== null;

/** Fields the schema declares as strings (or arrays of strings) that hold an object or array. */
function shapeErrors(schema: yup.Schema, value: unknown, path: string): FieldError[] {
  if (schema instanceof yup.ObjectSchema && isStructured(value) && !Array.isArray(value)) {
    const fields = schema.fields as Record<string, yup.Schema>;
    const v = value as Record<string, unknown>;
    return Object.keys(fields).flatMap((k) => (k in v ? shapeErrors(fields[k], v[k], path ? `${path}.${k}` : k) : []));
  }
  if (schema instanceof yup.ArraySchema && Array.isArray(value) && schema.innerType) {
    const inner = schema.innerType as yup.Schema;
    return value.flatMap((item, i) => shapeErrors(inner, item, `${path}[${i}]`));
  }
  if (schema.type === 'string' && isStructured(value)) return [{ path, message: `${path} must be a string` }];
  return [];
}

/** The parsed JSON body (koa-body), as untrusted input. */
export const bodyOf = (ctx: { request: object }): unknown => (ctx.request as { body?: unknown }).body;
