import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildOpenApiDocument } from '../../src/http/routes';
import { exampleOf, POSTMAN_SCHEMA, postmanCollection } from '../../src/http/openapi/postman';
import { HTTP_METHODS } from '../../src/http/openapi/types';

describe('the request collection (Postman v2.1)', () => {
  const doc = buildOpenApiDocument();
  const c = postmanCollection(doc, 'https://id.example.test');

  it('has one folder per tag and one request per operation', () => {
    const operations = Object.values(doc.paths).flatMap((item) => HTTP_METHODS.filter((m) => item[m]).map((m) => item[m]!));
    expect(c.info.schema).toBe(POSTMAN_SCHEMA);
    expect(c.item.map((f) => f.name)).toEqual(doc.tags.map((t) => t.name).filter((t) => operations.some((o) => o.tags[0] === t)));
    expect(c.item.reduce((n, f) => n + f.item.length, 0)).toBe(operations.length);
    for (const folder of c.item) for (const item of folder.item) expect(item.request.url.raw.startsWith('{{baseUrl}}/')).toBe(true);
  });

  it('uses {{baseUrl}} and {{accessToken}}, with no auth on public routes', () => {
    expect(c.variable.find((v) => v.key === 'baseUrl')?.value).toBe('https://id.example.test');
    expect(c.auth).toEqual({ type: 'bearer', bearer: [{ key: 'token', value: '{{accessToken}}', type: 'string' }] });
    const auth = c.item.find((f) => f.name === 'Auth')!;
    const login = auth.item.find((i) => i.request.url.raw === '{{baseUrl}}/api/auth/login')!;
    expect(login.request.auth).toEqual({ type: 'noauth' });
    expect(JSON.parse(login.request.body!.raw)).toEqual({ email: 'ada@example.com', password: 'correct horse battery staple' });
    expect(login.event?.[0].script.exec.join('\n')).toContain("pm.collectionVariables.set('accessToken', body.accessToken)");
    const me = auth.item.find((i) => i.request.url.raw === '{{baseUrl}}/api/auth/me')!;
    expect(me.request.auth).toBeUndefined();
  });

  it('turns path parameters into Postman variables and gives every body an example', () => {
    const users = c.item.find((f) => f.name === 'Users')!;
    const role = users.item.find((i) => i.request.url.raw === '{{baseUrl}}/api/users/:id/role')!;
    expect(role.request.url.path).toEqual(['api', 'users', ':id', 'role']);
    expect(role.request.url.variable).toEqual([expect.objectContaining({ key: 'id', value: '00000000-0000-4000-8000-000000000000' })]);
    for (const folder of c.item) {
      for (const item of folder.item) {
        if (!item.request.body) continue;
        expect(() => JSON.parse(item.request.body!.raw)).not.toThrow();
        expect(item.request.header).toContainEqual({ key: 'Content-Type', value: 'application/json' });
      }
    }
  });

  it('makes examples from schemas', () => {
    expect(
      exampleOf({
        type: 'object',
        properties: {
          email: { type: 'string' },
          n: { type: 'integer', minimum: 3 },
          on: { type: 'boolean' },
          ids: { type: 'array', items: { type: 'string', format: 'uuid' } },
        },
      }),
    ).toEqual({
      email: 'ada@example.com',
      n: 3,
      on: false,
      ids: ['00000000-0000-4000-8000-000000000000'],
    });
  });

  it('is written by npm run collection (and says how with --help)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'collection-'));
    const out = path.join(dir, 'c.json');
    const tsx = path.join(__dirname, '..', '..', 'node_modules', '.bin', 'tsx');
    const cli = path.join(__dirname, '..', '..', 'src', 'cli', 'collection.ts');
    expect(execFileSync(tsx, [cli, '--help'], { encoding: 'utf8' })).toMatch(/Usage: npm run collection/);
    execFileSync(tsx, [cli, '--out', out, '--base-url', 'http://api.test/'], { encoding: 'utf8' });
    const written = JSON.parse(readFileSync(out, 'utf8')) as ReturnType<typeof postmanCollection>;
    expect(written.info.schema).toBe(POSTMAN_SCHEMA);
    expect(written.variable[0]).toMatchObject({ key: 'baseUrl', value: 'http://api.test' });
  }, 30_000);
});
