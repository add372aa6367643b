import * as yup from 'yup';
import { DomainError, FieldError } from '../errors';
import { fieldErrorsOf } from './problem';

/**
 * Validates input (a body or a query) against a schema, listing every failing field. Unknown
 * keys are dropped (never mass-assigned); strings are length-capped by the schemas before any
 * pattern runs; text that PostgreSQL cannot store is refused in every field, wherever it is.
 */
export function validate<S extends yup.AnyObjectSchema>(schema: S, input: unknown): yup.InferType<S> {
  const raw = input === undefined || input === null ? {} : input;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new DomainError('VALIDATION_FAILED', 'The body must be a JSON object', [{ path: '', message: 'must be a JSON object' }]);
  }
  const value = declaredOnly(schema, raw);
  // yup's string transforms (trim, lowercase) throw on arrays and objects: refuse those first.
  const refused = [...shapeErrors(schema, value, ''), ...unstorableText(value, '')];
  if (refused.length) throw new DomainError('VALIDATION_FAILED', 'The request has invalid fields', refused);
  try {
    return schema.validateSync(value, { abortEarly: false, stripUnknown: true });
  } catch (e) {
    if (e instanceof yup.ValidationError) throw new DomainError('VALIDATION_FAILED', 'The request has invalid fields', fieldErrorsOf(e));
    throw e;
  }
}

const isStructured = (v: unknown): boolean => typeof v === 'object' && v !== null;

/**
 * The input with only the keys its object schemas declare, at every level they describe (what
 * stripUnknown keeps anyway). Dropped first because yup looks each key up in its plain field map,
 * where "constructor", "toString" or "__proto__" (an own key of a parsed query) would find
 * Object.prototype's members instead of a field, and crash.
 */
function declaredOnly(schema: yup.Schema, value: unknown): unknown {
  if (schema instanceof yup.ObjectSchema && isStructured(value) && !Array.isArray(value)) {
    const fields = schema.fields as Record<string, yup.Schema>;
    const v = value as Record<string, unknown>;
    const kept: Record<string, unknown> = {};
    for (const k of Object.keys(fields)) if (Object.hasOwn(v, k)) kept[k] = declaredOnly(fields[k], v[k]);
    return kept;
  }
  if (schema instanceof yup.ArraySchema && Array.isArray(value) && schema.innerType) {
    const inner = schema.innerType as yup.Schema;
    return value.map((item) => declaredOnly(inner, item));
  }
  return value;
}

/** NUL, or half of a surrogate pair: jsonb (where events and profiles live) refuses both. */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** A key as a path segment, its unstorable characters written as escapes (the error must be storable and readable). */
const visible = (key: string): string => key.replace(UNSTORABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

const join = (path: string, key: string): string => (path ? `${path}.${visible(key)}` : visible(key));

const unstorableMessage = (path: string, what: string): FieldError => ({
  path,
  message: `${path || 'the input'} ${what} a character that cannot be stored (NUL or an unpaired surrogate)`,
});

/**
 * Every string in the input that cannot be stored, values and object keys alike, whatever the
 * field's type (a profile is any JSON): one rule for every body and query, before any command
 * runs, so such input is a 422 naming its field and never a failed write after a claim.
 */
function unstorableText(value: unknown, path: string): FieldError[] {
  if (typeof value === 'string') return value.search(UNSTORABLE) === -1 ? [] : [unstorableMessage(path, 'contains')];
  if (Array.isArray(value)) return value.flatMap((item, i) => unstorableText(item, `${path}[${i}]`));
  if (!isStructured(value)) return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => [
    ...(k.search(UNSTORABLE) === -1 ? [] : [unstorableMessage(join(path, k), 'is a key with')]),
    ...unstorableText(v, join(path, k)),
  ]);
}

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
