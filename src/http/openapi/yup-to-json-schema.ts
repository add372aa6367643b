import type { AnySchema, SchemaDescription, SchemaFieldDescription } from 'yup';
import { JsonSchema } from './types';

/**
 * yup schema → JSON Schema 2020-12, from `schema.describe()`: what the routes validate with is
 * what the OpenAPI document says, so the two cannot drift.
 *
 * Mapped: object (properties, required), string, number (integer), boolean, date, array (items),
 * tuple, mixed (no type), `.required()`/`.optional()`, `.nullable()`, min/max/length (minLength,
 * minimum, minItems, ...), moreThan/lessThan (exclusive bounds), `.oneOf()` (enum), `.notOneOf()`
 * (not enum), `.matches()` and any test whose params carry a `regex` (pattern, the JS regex
 * rewritten for ECMA-262 `u` mode without flags), email/url/uuid/datetime (format), defaults,
 * `label` (title). A schema's `meta({ jsonSchema: {...} })` is merged last, for what a custom
 * test checks and describe() cannot show (`meta({ description })` works too).
 * Refs and conditional (`when`) schemas are refused: nothing here uses them.
 */

type FieldDescription = SchemaFieldDescription;

interface Described extends SchemaDescription {
  fields?: Record<string, FieldDescription>;
  innerType?: FieldDescription | FieldDescription[];
}

const isDescribed = (d: FieldDescription): d is Described => 'tests' in d && Array.isArray((d as Described).tests);

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof RegExp);

/** Tests whose `params.regex` is not a pattern of the value (a format has its own keyword). */
const FORMAT_TESTS: Record<string, string> = { email: 'email', url: 'uri', uuid: 'uuid', datetime: 'date-time' };

const isAsciiLetter = (c: string): boolean => /^[A-Za-z]$/.test(c);
const otherCase = (c: string): string => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase());

/** Length of the escape sequence starting at `src[i]` (a backslash). */
function escapeLength(src: string, i: number): number {
  const next = src[i + 1];
  if (next === undefined) throw new Error(`regex /${src}/ ends with a lone backslash`);
  if (next === 'u') {
    if (src[i + 2] === '{') return src.indexOf('}', i) - i + 1;
    return 6;
  }
  if (next === 'x') return 4;
  if (next === 'c') return 3;
  if ((next === 'p' || next === 'P') && src[i + 2] === '{') return src.indexOf('}', i) - i + 1;
  if (next === 'k' && src[i + 2] === '<') return src.indexOf('>', i) - i + 1;
  return 2;
}

/** A character class with both cases of every ASCII letter and letter range in it. */
function caseFoldClass(cls: string): string {
  // cls is the inside of [...], without the brackets and without a leading ^.
  const extra: string[] = [];
  let i = 0;
  while (i < cls.length) {
    if (cls[i] === '\\') {
      i += escapeLength(cls, i);
      continue;
    }
    const c = cls[i];
    if (cls[i + 1] === '-' && cls[i + 2] !== undefined && cls[i + 2] !== ']' && cls[i + 2] !== '\\') {
      const d = cls[i + 2];
      if (isAsciiLetter(c) && isAsciiLetter(d)) {
        const lower = c === c.toLowerCase() && d === d.toLowerCase();
        const upper = c === c.toUpperCase() && d === d.toUpperCase();
        if (!lower && !upper) throw new Error(`cannot fold the range ${c}-${d} to both cases`);
        extra.push(`${otherCase(c)}-${otherCase(d)}`);
      } else if (spansLetters(c, d)) {
        throw new Error(`cannot fold the range ${c}-${d}, which holds letters, to both cases`);
      }
      i += 3;
      continue;
    }
    if (c.toLowerCase() !== c.toUpperCase()) extra.push(otherCase(c));
    i += 1;
  }
  // In front: a '-' at the end of the class stays a literal.
  return extra.filter((x) => !cls.includes(x)).join('') + cls;
}

/** Whether the range a-b holds an ASCII letter (A-Z is 65-90, a-z 97-122). */
const spansLetters = (a: string, b: string): boolean => {
  const lo = a.charCodeAt(0);
  const hi = b.charCodeAt(0);
  return (lo <= 90 && hi >= 65) || (lo <= 122 && hi >= 97);
};

/**
 * A JS regex as an ECMA-262 pattern string for JSON Schema, which has no flags: `i` becomes
 * both cases spelled out, `s` makes `.` any character; `g`, `y`, `d` do not change what matches;
 * `u`/`v` are how JSON Schema patterns are read anyway. `m` cannot be expressed and is refused.
 */
export function regexToPattern(re: RegExp): string {
  const flags = new Set(re.flags.replace(/[gydu]/g, ''));
  if (flags.has('m') || flags.has('v'))
    throw new Error(`regex /${re.source}/${re.flags}: the ${flags.has('m') ? 'm' : 'v'} flag has no JSON Schema equivalent`);
  const fold = flags.has('i');
  const dotAll = flags.has('s');
  const src = re.source;
  let out = '';
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === '\\') {
      const n = escapeLength(src, i);
      out += src.slice(i, i + n);
      i += n;
    } else if (c === '[') {
      let j = i + 1;
      const negated = src[j] === '^';
      if (negated) j += 1;
      const start = j;
      // A ']' right after '[' or '[^' is a literal in JS (non-u) and an error in u mode: refuse it.
      while (j < src.length && src[j] !== ']') j += src[j] === '\\' ? escapeLength(src, j) : 1;
      if (j >= src.length) throw new Error(`regex /${src}/: unterminated character class`);
      const inner = src.slice(start, j);
      out += `[${negated ? '^' : ''}${fold ? caseFoldClass(inner) : inner}]`;
      i = j + 1;
    } else if (c === '(' && src.startsWith('(?<', i) && src[i + 3] !== '=' && src[i + 3] !== '!') {
      const end = src.indexOf('>', i);
      out += src.slice(i, end + 1);
      i = end + 1;
    } else if (c === '.' && dotAll) {
      out += '[\\s\\S]';
      i += 1;
    } else if (fold && c.toLowerCase() !== c.toUpperCase()) {
      out += `[${c}${otherCase(c)}]`;
      i += 1;
    } else {
      out += c;
      i += 1;
    }
  }
  // JSON Schema validators read patterns as ECMA-262 with the u flag: make sure this one compiles.
  try {
    new RegExp(out, 'u');
  } catch (e) {
    throw new Error(`regex /${src}/${re.flags} is not a valid JSON Schema pattern as ${out}: ${(e as Error).message}`);
  }
  return out;
}

const numberParam = (params: unknown, key: string): number | undefined => {
  if (!isRecord(params)) return undefined;
  const v = params[key];
  return typeof v === 'number' ? v : undefined;
};

/** minLength/minimum/minItems (and max…) for the schema's type. */
const boundKeyword = (type: string, bound: 'min' | 'max'): string | null => {
  if (type === 'string') return bound === 'min' ? 'minLength' : 'maxLength';
  if (type === 'number') return bound === 'min' ? 'minimum' : 'maximum';
  if (type === 'array' || type === 'tuple') return bound === 'min' ? 'minItems' : 'maxItems';
  return null;
};

function convert(d: FieldDescription, where: string): JsonSchema {
  if (d.type === 'ref') throw new Error(`${where}: yup refs have no JSON Schema equivalent here`);
  if (!isDescribed(d)) throw new Error(`${where}: a ${d.type} schema (lazy or conditional) cannot be described statically`);
  const out: JsonSchema = {};
  let type: string | undefined;
  switch (d.type) {
    case 'object': {
      type = 'object';
      const properties: Record<string, JsonSchema> = {};
      const required: string[] = [];
      for (const [name, field] of Object.entries(d.fields ?? {})) {
        properties[name] = convert(field, where ? `${where}.${name}` : name);
        if (isDescribed(field) && !field.optional) required.push(name);
      }
      out.properties = properties;
      if (required.length) out.required = required;
      break;
    }
    case 'string':
      type = 'string';
      break;
    case 'number':
      type = d.tests.some((t) => t.name === 'integer') ? 'integer' : 'number';
      break;
    case 'boolean':
      type = 'boolean';
      break;
    case 'date':
      type = 'string';
      out.format = 'date-time';
      break;
    case 'array':
      type = 'array';
      if (d.innerType && !Array.isArray(d.innerType)) out.items = convert(d.innerType, `${where}[]`);
      break;
    case 'tuple':
      type = 'array';
      if (Array.isArray(d.innerType)) {
        out.prefixItems = d.innerType.map((t, i) => convert(t, `${where}[${i}]`));
        out.items = false;
      }
      break;
    case 'mixed':
      break;
    default:
      throw new Error(`${where}: yup type ${d.type} is not mapped to JSON Schema`);
  }

  const patterns: string[] = [];
  for (const t of d.tests) {
    const name = t.name ?? '';
    const params = t.params;
    if (name === 'min' || name === 'max') {
      const v = numberParam(params, name) ?? numberParam(params, name === 'min' ? 'more' : 'less');
      const exclusive = numberParam(params, name) === undefined;
      const kw = boundKeyword(d.type, name);
      if (v !== undefined && kw) {
        if (exclusive && d.type === 'number') out[name === 'min' ? 'exclusiveMinimum' : 'exclusiveMaximum'] = v;
        else out[kw] = v;
      }
    } else if (name === 'length') {
      const v = numberParam(params, 'length');
      const min = boundKeyword(d.type, 'min');
      const max = boundKeyword(d.type, 'max');
      if (v !== undefined && min && max) {
        out[min] = v;
        out[max] = v;
      }
    } else if (FORMAT_TESTS[name]) {
      out.format = FORMAT_TESTS[name];
    } else if (name.startsWith('datetime_')) {
      // datetime_offset, datetime_precision: refinements of the date-time format.
    } else if (isRecord(params) && params.regex instanceof RegExp) {
      patterns.push(regexToPattern(params.regex));
    }
  }
  if (patterns.length === 1) out.pattern = patterns[0];
  else if (patterns.length > 1) out.allOf = patterns.map((pattern) => ({ pattern }));

  const allowed = d.oneOf.filter((v) => v !== undefined);
  if (allowed.length) out.enum = d.nullable && !allowed.includes(null) ? [...allowed, null] : allowed;
  const refused = d.notOneOf.filter((v) => v !== undefined);
  if (refused.length) out.not = { enum: refused };

  if (d.label) out.title = d.label;
  if ('default' in d && d.default !== undefined && d.type !== 'object') out.default = d.default;

  if (type) out.type = type;
  const meta = d.meta as unknown;
  if (isRecord(meta)) {
    if (typeof meta.description === 'string') out.description = meta.description;
    if (isRecord(meta.jsonSchema)) Object.assign(out, meta.jsonSchema);
  }
  if (d.nullable && typeof out.type === 'string') out.type = [out.type, 'null'];
  // `type` first, for whoever reads the document.
  const { type: t, ...rest } = out;
  return t === undefined ? rest : { type: t, ...rest };
}

/** The JSON Schema of a yup schema. */
export function yupToJsonSchema(schema: AnySchema): JsonSchema {
  return convert(schema.describe(), '');
}

/** One OpenAPI query parameter per field of an object schema (the way koa reads `ctx.query`). */
export function yupToQueryParameters(schema: AnySchema): { name: string; in: 'query'; required: boolean; schema: JsonSchema }[] {
  const s = yupToJsonSchema(schema);
  if (s.type !== 'object' || !isRecord(s.properties)) throw new Error('query parameters come from an object schema');
  const required = new Set(Array.isArray(s.required) ? s.required : []);
  return Object.entries(s.properties as Record<string, JsonSchema>).map(([name, schema]) => ({
    name,
    in: 'query',
    required: required.has(name),
    schema,
  }));
}
