import Ajv2020, { ErrorObject, ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { buildOpenApiDocument } from '../../src/http/routes';
import { HttpMethod, JsonSchema, OpenApiDocument, Operation, PathItem, Response } from '../../src/http/openapi/types';

/**
 * Checks responses against the OpenAPI document (buildOpenApiDocument, src/http/routes): the status must
 * be documented for the operation (or its `NXX`/`default`), the content type must be one the
 * operation documents, a JSON body must validate against its schema (Ajv, JSON Schema 2020-12),
 * and required headers must be there. tests/helpers/stack.ts runs it on every response of the
 * integration and security tests, so the document and the app cannot drift apart.
 *
 * Outside the operations: an unknown path must be a 404 problem, a method a known path does not
 * take a 405 (or 501) problem with `Allow`, `OPTIONS` a body-less 200/204 (CORS preflight or the
 * router's answer), and `HEAD` answers like its GET without a body.
 */

const COMPONENTS_ID = 'urn:iam-es:openapi:components';
const PROBLEM_TYPE = 'application/problem+json';

const isJsonType = (type: string): boolean => type === 'application/json' || /^application\/[^;]+\+json$/.test(type);

/** The schema with `#/components/schemas/X` refs pointing into the components schema added to Ajv. */
function rebase(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rebase);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')
        ? `${COMPONENTS_ID}#/$defs/${v.slice('#/components/schemas/'.length)}`
        : rebase(v),
    ]),
  );
}

interface Template {
  path: string;
  re: RegExp;
  params: number;
  item: PathItem;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const describeErrors = (errors: ErrorObject[] | null | undefined): string[] =>
  (errors ?? []).map((e) => {
    const extra =
      e.keyword === 'additionalProperties'
        ? ` (${String((e.params as { additionalProperty: string }).additionalProperty)})`
        : e.keyword === 'enum'
          ? ` (${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)})`
          : '';
    return `${e.instancePath || '(body)'}: ${e.message ?? e.keyword}${extra} [${e.schemaPath}]`;
  });

export interface CheckedResponse {
  method: string;
  /** The request path, with or without its query string. */
  url: string;
  status: number;
  contentType: string | null;
  /** The parsed JSON body, the text of a non-JSON body, or undefined when the body is empty. */
  body: unknown;
  headers?: Headers;
}

export class OpenApiConformance {
  private readonly ajv: Ajv2020;
  private readonly templates: Template[];
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(readonly doc: OpenApiDocument) {
    this.ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictTuples: false });
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: COMPONENTS_ID, $defs: rebase(doc.components.schemas) as Record<string, JsonSchema> });
    this.templates = Object.entries(doc.paths)
      .map(([path, item]) => ({
        path,
        item,
        params: (path.match(/\{[^}]+\}/g) ?? []).length,
        re: new RegExp(
          `^${path
            .split('/')
            .map((seg) => (/^\{[^}]+\}$/.test(seg) ? '[^/]+' : escapeRe(seg)))
            .join('/')}$`,
        ),
      }))
      // A literal segment wins over a parameter (as the routers are written, none overlap anyway).
      .sort((a, b) => a.params - b.params);
  }

  /** The path template a concrete path falls under, if any. */
  templateOf(url: string): Template | undefined {
    let path = url.split('?')[0].split('#')[0];
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    return this.templates.find((t) => t.re.test(path));
  }

  /** A validator of a schema, compiled once. */
  validator(key: string, schema: JsonSchema): ValidateFunction {
    let v = this.validators.get(key);
    if (!v) {
      v = this.ajv.compile(rebase(schema) as JsonSchema);
      this.validators.set(key, v);
    }
    return v;
  }

  /** Every way the response differs from the document (empty when it conforms). */
  violations(r: CheckedResponse): string[] {
    const method = r.method.toLowerCase();
    const type = (r.contentType ?? '').split(';')[0].trim().toLowerCase();
    const template = this.templateOf(r.url);
    const problem = (why: string): string[] => {
      if (type !== PROBLEM_TYPE) return [`${why}: expected ${PROBLEM_TYPE}, got ${type || 'no content type'}`];
      const validate = this.validator('Problem', { $ref: '#/components/schemas/Problem' });
      return validate(r.body) ? [] : describeErrors(validate.errors);
    };
    if (!template) {
      if (r.status !== 404) return [`no documented path matches ${r.url}, yet the answer is ${r.status} (expected a 404 problem)`];
      return problem('an unknown path');
    }
    if (method === 'options') {
      const out: string[] = [];
      if (r.status !== 200 && r.status !== 204) out.push(`OPTIONS answered ${r.status} (expected 200 or 204)`);
      if (r.body !== undefined) out.push('OPTIONS answered with a body');
      return out;
    }
    const op: Operation | undefined = template.item[(method === 'head' ? 'get' : method) as HttpMethod];
    if (!op) {
      const out: string[] = [];
      if (r.status !== 405 && r.status !== 501)
        return [`${r.method.toUpperCase()} is not documented for ${template.path}, yet the answer is ${r.status} (expected a 405 problem)`];
      if (r.status === 405 && r.headers && !r.headers.get('allow')) out.push('a 405 without an Allow header');
      return [...out, ...problem(`${r.status} for a method ${template.path} does not take`)];
    }
    const statusKey = String(r.status);
    const key = [statusKey, `${statusKey[0]}XX`, 'default'].find((k) => op.responses[k] !== undefined);
    if (!key) return [`status ${r.status} is not documented (documented: ${Object.keys(op.responses).join(', ')})`];
    const response: Response = op.responses[key];
    const out: string[] = [];
    for (const [name, h] of Object.entries(response.headers ?? {})) {
      if (h.required && r.headers && r.headers.get(name) === null) out.push(`the ${name} header is missing`);
    }
    const content = response.content;
    if (!content) {
      if (r.body !== undefined) out.push(`a body, where ${key} documents none`);
      return out;
    }
    if (method === 'head') return out;
    if (r.body === undefined) return [...out, `no body, where ${key} documents ${Object.keys(content).join(' or ')}`];
    const media = content[type];
    if (!media)
      return [...out, `content type ${type || '(none)'} is not documented for ${key} (documented: ${Object.keys(content).join(', ')})`];
    if (isJsonType(type) && media.schema) {
      const validate = this.validator(`${op.operationId} ${key} ${type}`, media.schema);
      if (!validate(r.body)) out.push(...describeErrors(validate.errors));
    } else if (typeof r.body !== 'string') {
      out.push(`a ${type} body that is not text`);
    }
    return out;
  }

  /** Throws an Error listing the violations when the response does not conform. */
  check(r: CheckedResponse): void {
    const found = this.violations(r);
    if (!found.length) return;
    const shown = typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
    throw new Error(
      [
        `OpenAPI conformance: ${r.method.toUpperCase()} ${r.url} answered ${r.status} (${r.contentType ?? 'no content type'}), which the document does not allow:`,
        ...found.map((v) => `  - ${v}`),
        `  body: ${shown === undefined ? '(empty)' : shown.length > 2000 ? `${shown.slice(0, 2000)}…` : shown}`,
      ].join('\n'),
    );
  }
}

let shared: OpenApiConformance | undefined;

/** The checker of the document built from src (no server needed), built once per test file. */
export const conformance = (): OpenApiConformance => (shared ??= new OpenApiConformance(buildOpenApiDocument()));

/** Checks one response against the document; throws an Error listing what does not conform. */
export function checkResponse(
  method: string,
  url: string,
  status: number,
  contentType: string | null,
  body: unknown,
  headers?: Headers,
): void {
  conformance().check({ method, url, status, contentType, body, headers });
}
