import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import * as yup from 'yup';
import { buildOpenApiDocument } from '../../src/http/routes';
import { HTTP_METHODS, JsonSchema } from '../../src/http/openapi/types';
import { routers } from '../../src/http/routes';
import { HttpServices } from '../../src/http/types';
import { loginSchema, registerSchema } from '../../src/http/schemas';
import { OpenApiConformance } from '../helpers/openapi-conformance';
import { startStack, TestStack } from '../helpers/stack';

/** The routers only capture their services when built: any property of this one is itself. */
const inert: HttpServices = new Proxy(
  {},
  {
    get: (_t, _p, receiver) => receiver,
  },
) as HttpServices;

/** `METHOD /path/{param}` of every route the routers register (HEAD comes with GET; `use` layers have no method). */
const registeredRoutes = (): string[] =>
  routers(inert)
    .flatMap((r) => r.router.stack)
    .flatMap((layer) =>
      layer.methods.filter((m) => m !== 'HEAD').map((m) => `${m} ${String(layer.path).replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`),
    )
    .sort();

const documentedOperations = (): string[] => {
  const doc = buildOpenApiDocument();
  return Object.entries(doc.paths)
    .flatMap(([path, item]) => HTTP_METHODS.filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
};

/** Every schema in the document, with where it is. */
function* schemasOf(doc: ReturnType<typeof buildOpenApiDocument>): Generator<[string, JsonSchema]> {
  for (const [name, s] of Object.entries(doc.components.schemas)) yield [`components.schemas.${name}`, s];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const m of HTTP_METHODS) {
      const op = item[m];
      if (!op) continue;
      for (const p of op.parameters ?? []) yield [`${m} ${path} parameter ${p.name}`, p.schema];
      for (const [type, media] of Object.entries(op.requestBody?.content ?? {}))
        if (media.schema) yield [`${m} ${path} request ${type}`, media.schema];
      for (const [status, r] of Object.entries(op.responses)) {
        for (const [type, media] of Object.entries(r.content ?? {}))
          if (media.schema) yield [`${m} ${path} ${status} ${type}`, media.schema];
        for (const [name, h] of Object.entries(r.headers ?? {})) yield [`${m} ${path} ${status} header ${name}`, h.schema];
      }
    }
  }
}

describe('the OpenAPI document', () => {
  it('has an operation for every route of the routers, and none for a route that does not exist', () => {
    const routes = registeredRoutes();
    const documented = documentedOperations();
    expect(routes.length).toBeGreaterThan(50);
    expect(routes.filter((r) => !documented.includes(r))).toEqual([]);
    expect(documented.filter((d) => !routes.includes(d))).toEqual([]);
  });

  it('is valid OpenAPI 3.1 (swagger-parser), and every $ref resolves', async () => {
    const copy = (): Parameters<typeof SwaggerParser.validate>[0] =>
      JSON.parse(JSON.stringify(buildOpenApiDocument())) as Parameters<typeof SwaggerParser.validate>[0];
    await expect(SwaggerParser.validate(copy())).resolves.toBeDefined();
    // dereference throws on a $ref that does not resolve.
    const deref = await SwaggerParser.dereference(copy());
    expect(JSON.stringify(deref)).not.toContain('"$ref"');
  });

  it('has schemas that Ajv (JSON Schema 2020-12, strict) compiles, patterns included', () => {
    const doc = buildOpenApiDocument();
    // The conformance checker's Ajv: strict, with the component schemas added for their $refs.
    const checker = new OpenApiConformance(doc);
    const failures: string[] = [];
    for (const [where, schema] of schemasOf(doc)) {
      try {
        checker.validator(where, schema);
      } catch (e) {
        failures.push(`${where}: ${(e as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('has operation ids, summaries, tags and documented errors as problem+json', () => {
    const doc = buildOpenApiDocument();
    const tags = doc.tags.map((t) => t.name);
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const m of HTTP_METHODS) {
        const op = item[m];
        if (!op) continue;
        expect([path, m, op.summary.length > 0, op.tags.every((t) => tags.includes(t))]).toEqual([path, m, true, true]);
        for (const [status, r] of Object.entries(op.responses)) {
          if (Number(status) >= 400 && !(path === '/health/ready' && status === '503'))
            expect([path, m, status, Object.keys(r.content ?? {})]).toEqual([path, m, status, ['application/problem+json']]);
        }
      }
    }
  });

  it('gives request examples that its own request schemas and the routes’ yup schemas accept', () => {
    const doc = buildOpenApiDocument();
    const ajv = new Ajv2020({ strict: false });
    addFormats(ajv);
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const m of HTTP_METHODS) {
        const media = item[m]?.requestBody?.content['application/json'];
        if (!media || media.example === undefined || !media.schema) continue;
        const validate = ajv.compile(media.schema);
        expect([m, path, validate(media.example), validate.errors ?? null]).toEqual([m, path, true, null]);
      }
    }
    // And the yup schemas themselves (the source of truth) accept the same examples.
    const example = (p: string) => doc.paths[p].post?.requestBody?.content['application/json'].example;
    expect(() => registerSchema.validateSync(example('/api/auth/register'))).not.toThrow();
    expect(() => loginSchema.validateSync(example('/api/auth/login'))).not.toThrow();
    expect(yup.isSchema(registerSchema)).toBe(true);
  });
});

describe('GET /openapi.json and /docs', () => {
  let s: TestStack;
  beforeAll(async () => {
    s = await startStack('openapi', {}, ['api']);
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('serves the document', async () => {
    const r = await s.request('GET', '/openapi.json');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.body).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())));
  });

  it('serves Swagger UI from this origin, under a CSP that allows only itself', async () => {
    const r = await s.request<string>('GET', '/docs');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = r.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    // Every script and stylesheet comes from here, none inline.
    const srcs = [...r.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(srcs.length).toBeGreaterThan(2);
    for (const src of srcs) expect(src).toMatch(/^\/docs\/assets\//);
    expect(r.body).not.toMatch(/<script>(?!<\/script>)|<style/);

    const start = await s.request<string>('GET', '/docs/assets/docs.js');
    expect(start.status).toBe(200);
    expect(start.body).toContain("url: '/openapi.json'");
    for (const src of srcs) {
      const asset = await s.request<string>('GET', src);
      expect([src, asset.status]).toEqual([src, 200]);
    }
  });

  it('serves swagger-ui-bundle.js and the stylesheet from the swagger-ui-dist package', async () => {
    const js = await s.request<string>('GET', '/docs/assets/swagger-ui-bundle.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.body.length).toBeGreaterThan(100_000);
    expect(js.body).toContain('SwaggerUIBundle');
    const css = await s.request<string>('GET', '/docs/assets/swagger-ui.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
  });

  it('serves nothing else under /docs/assets', async () => {
    for (const name of ['nope.js', '__proto__', 'constructor', '..%2Fpackage.json', 'index.html']) {
      const r = await s.request('GET', `/docs/assets/${name}`);
      expect([name, r.status, r.body.code]).toEqual([name, 404, 'NOT_FOUND']);
    }
  });
});
