import { HTTP_METHODS, JsonSchema, OpenApiDocument, Operation, Parameter } from './types';

/**
 * A Postman collection (v2.1) generated from the OpenAPI document: one folder per tag, one
 * request per operation with an example body (the operation's example, or one made from its
 * schema), `{{baseUrl}}` and `{{accessToken}}` variables (bearer auth on the collection, none on
 * public routes), and scripts that keep `accessToken`, `refreshToken` and `apiKey` from the
 * answers that carry them. Insomnia, Bruno, Hoppscotch and Thunder Client import it too.
 */

export const POSTMAN_SCHEMA = 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json';

export interface PostmanVariable {
  key: string;
  value: string;
  type?: 'string';
  description?: string;
  disabled?: boolean;
}

export interface PostmanAuth {
  type: 'bearer' | 'noauth';
  bearer?: { key: string; value: string; type: 'string' }[];
}

export interface PostmanRequest {
  method: string;
  header: PostmanVariable[];
  url: { raw: string; host: string[]; path: string[]; query?: PostmanVariable[]; variable?: PostmanVariable[] };
  description?: string;
  body?: { mode: 'raw'; raw: string; options: { raw: { language: 'json' } } };
  auth?: PostmanAuth;
}

export interface PostmanEvent {
  listen: 'test' | 'prerequest';
  script: { type: 'text/javascript'; exec: string[] };
}

export interface PostmanItem {
  name: string;
  request: PostmanRequest;
  event?: PostmanEvent[];
}

export interface PostmanFolder {
  name: string;
  description?: string;
  item: PostmanItem[];
}

export interface PostmanCollection {
  info: { name: string; description: string; schema: string };
  auth: PostmanAuth;
  variable: PostmanVariable[];
  item: PostmanFolder[];
}

const EXAMPLE_UUID = '00000000-0000-4000-8000-000000000000';

/** What to put in a string field, by its format or name. */
function exampleString(name: string, s: JsonSchema): string {
  if (s.format === 'email' || /email/i.test(name)) return 'ada@example.com';
  if (s.format === 'uuid' || /Id$/.test(name)) return EXAMPLE_UUID;
  if (s.format === 'date-time' || /At$/.test(name)) return new Date(Date.UTC(new Date().getUTCFullYear() + 1, 0, 1)).toISOString();
  if (name === 'refreshToken') return '{{refreshToken}}';
  if (name === 'currentPassword') return 'your current password';
  if (/password/i.test(name)) return 'correct horse battery staple';
  if (name === 'token') return 'the token from the emailed link';
  return name || 'string';
}

/** An example value of a schema (request schemas are self-contained: no $ref). */
export function exampleOf(s: JsonSchema, name = ''): unknown {
  if (s.examples && Array.isArray(s.examples) && s.examples.length) return s.examples[0];
  if (s.default !== undefined) return s.default;
  if (s.const !== undefined) return s.const;
  if (Array.isArray(s.enum) && s.enum.length) return s.enum[0];
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  switch (type) {
    case 'object': {
      const props = (s.properties ?? {}) as Record<string, JsonSchema>;
      return Object.fromEntries(Object.entries(props).map(([k, v]) => [k, exampleOf(v, k)]));
    }
    case 'array':
      return s.items && typeof s.items === 'object' ? [exampleOf(s.items as JsonSchema, name.replace(/s$/, ''))] : [];
    case 'string':
      return exampleString(name, s);
    case 'integer':
    case 'number':
      return typeof s.minimum === 'number' ? s.minimum : 1;
    case 'boolean':
      return false;
    default:
      return {};
  }
}

const queryValue = (p: Parameter): string => {
  const v = exampleOf(p.schema, p.name);
  return typeof v === 'string' ? v : JSON.stringify(v);
};

/** Scripts that keep the tokens and keys an answer carries, for the requests after it. */
const KEEPERS: Record<string, string[]> = {
  accessToken: ["if (body.accessToken) pm.collectionVariables.set('accessToken', body.accessToken);"],
  refreshToken: ["if (body.refreshToken) pm.collectionVariables.set('refreshToken', body.refreshToken);"],
  key: ["if (body.key) pm.collectionVariables.set('apiKey', body.key);"],
};

/** The fields of an operation's success answers, following component refs one level. */
function successFields(doc: OpenApiDocument, op: Operation): Set<string> {
  const fields = new Set<string>();
  const visit = (s: JsonSchema | undefined, depth: number): void => {
    if (!s || depth > 3) return;
    if (typeof s.$ref === 'string') return visit(doc.components.schemas[s.$ref.split('/').pop() ?? ''], depth + 1);
    for (const k of Object.keys((s.properties ?? {}) as Record<string, unknown>)) fields.add(k);
    for (const sub of [...((s.anyOf ?? []) as JsonSchema[]), ...((s.oneOf ?? []) as JsonSchema[])]) visit(sub, depth + 1);
  };
  for (const [status, r] of Object.entries(op.responses)) if (status.startsWith('2')) visit(r.content?.['application/json']?.schema, 0);
  return fields;
}

function itemOf(doc: OpenApiDocument, method: string, path: string, op: Operation): PostmanItem {
  const segments = path.split('/').filter(Boolean);
  const pathVars = (op.parameters ?? []).filter((p) => p.in === 'path');
  const query = (op.parameters ?? []).filter((p) => p.in === 'query');
  const postmanPath = segments.map((s) => s.replace(/^\{(.+)\}$/, ':$1'));
  const enabledQuery = query.filter((p) => p.required);
  const raw = `{{baseUrl}}/${postmanPath.join('/')}${enabledQuery.length ? `?${enabledQuery.map((p) => `${p.name}=${queryValue(p)}`).join('&')}` : ''}`;
  const security = op.security ?? [];
  const acceptsKey = security.some((s) => 'apiKeyAuth' in s);
  const media = op.requestBody?.content['application/json'];
  const request: PostmanRequest = {
    method: method.toUpperCase(),
    header: [
      ...(media ? [{ key: 'Content-Type', value: 'application/json' }] : []),
      ...(acceptsKey
        ? [
            {
              key: 'X-API-Key',
              value: '{{apiKey}}',
              disabled: true,
              description: 'Enable to call with an API key instead of the bearer token',
            },
          ]
        : []),
    ],
    url: {
      raw,
      host: ['{{baseUrl}}'],
      path: postmanPath,
      ...(query.length
        ? {
            query: query.map((p) => ({
              key: p.name,
              value: queryValue(p),
              ...(p.required ? {} : { disabled: true }),
              ...(p.description ? { description: p.description } : {}),
            })),
          }
        : {}),
      ...(pathVars.length
        ? {
            variable: pathVars.map((p) => ({
              key: p.name,
              value: String(exampleOf(p.schema, p.name)),
              ...(p.description ? { description: p.description } : {}),
            })),
          }
        : {}),
    },
    ...(op.description ? { description: op.description } : {}),
    ...(media
      ? {
          body: {
            mode: 'raw' as const,
            raw: JSON.stringify(media.example ?? exampleOf(media.schema ?? {}), null, 2),
            options: { raw: { language: 'json' as const } },
          },
        }
      : {}),
    ...(security.length === 0 ? { auth: { type: 'noauth' as const } } : {}),
  };
  const fields = successFields(doc, op);
  const keep = Object.entries(KEEPERS).flatMap(([field, lines]) => (fields.has(field) ? lines : []));
  return {
    name: op.summary,
    request,
    ...(keep.length
      ? {
          event: [
            {
              listen: 'test' as const,
              script: {
                type: 'text/javascript' as const,
                exec: ['if (pm.response.code < 300) {', '  const body = pm.response.json();', ...keep.map((l) => `  ${l}`), '}'],
              },
            },
          ],
        }
      : {}),
  };
}

/** The collection of every operation of the document, in the document's tag order. */
export function postmanCollection(doc: OpenApiDocument, baseUrl = 'http://localhost:3000'): PostmanCollection {
  const folders = new Map<string, PostmanFolder>(
    doc.tags.map((t) => [t.name, { name: t.name, ...(t.description ? { description: t.description } : {}), item: [] }]),
  );
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!op) continue;
      const tag = op.tags[0] ?? 'Other';
      if (!folders.has(tag)) folders.set(tag, { name: tag, item: [] });
      folders.get(tag)!.item.push(itemOf(doc, method, path, op));
    }
  }
  return {
    info: {
      name: doc.info.title,
      description: `${doc.info.description ?? ''}\n\nGenerated from the OpenAPI document (GET /openapi.json) by \`npm run collection\`. Set \`baseUrl\`; sign in with Auth › Sign in and \`accessToken\` is kept for the other requests.`,
      schema: POSTMAN_SCHEMA,
    },
    auth: { type: 'bearer', bearer: [{ key: 'token', value: '{{accessToken}}', type: 'string' }] },
    variable: [
      { key: 'baseUrl', value: baseUrl, type: 'string', description: 'Where the API runs' },
      { key: 'accessToken', value: '', type: 'string', description: 'Kept from the last sign-in or refresh' },
      { key: 'refreshToken', value: '', type: 'string', description: 'Kept from the last sign-in or refresh' },
      { key: 'apiKey', value: '', type: 'string', description: 'Kept from the last API key created' },
    ],
    item: [...folders.values()].filter((f) => f.item.length > 0),
  };
}
