import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildOpenApiDocument } from '../http/routes';
import { postmanCollection } from '../http/openapi/postman';
import { wantsHelp } from './common';

const DEFAULT_OUT = path.join('collection', 'iam-es.postman_collection.json');

const HELP = `Usage: npm run collection [-- --out FILE] [-- --base-url URL] [-- --openapi FILE]

Writes a request collection (Postman v2.1; Insomnia, Bruno and Hoppscotch import it too),
generated from the OpenAPI document of this code: one folder per tag, every operation with an
example body, and the variables {{baseUrl}} (default http://localhost:3000, or APP_BASE_URL)
and {{accessToken}} (kept by the collection from the answer of Auth > Sign in).

  --out FILE       where to write it (default ${DEFAULT_OUT})
  --base-url URL   the initial value of {{baseUrl}}
  --openapi FILE   also write the OpenAPI document itself (as served at GET /openapi.json)`;

const option = (args: string[], name: string): string | undefined => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (!v || v.startsWith('--')) throw new Error(`${name} needs a value; see --help`);
  return v;
};

function main(): void {
  const args = process.argv.slice(2);
  if (wantsHelp(args)) {
    console.log(HELP);
    return;
  }
  const known = new Set(['--out', '--base-url', '--openapi']);
  const unknown = args.filter((a, i) => a.startsWith('--') && !known.has(a) && !known.has(args[i - 1]));
  if (unknown.length) throw new Error(`unknown option ${unknown.join(', ')}; see --help`);
  const out = path.resolve(option(args, '--out') ?? DEFAULT_OUT);
  const baseUrl = option(args, '--base-url') ?? process.env.APP_BASE_URL ?? 'http://localhost:3000';
  const doc = buildOpenApiDocument();
  const collection = postmanCollection(doc, baseUrl.replace(/\/+$/, ''));
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(collection, null, 2)}\n`);
  const requests = collection.item.reduce((n, f) => n + f.item.length, 0);
  console.log(`Wrote ${requests} requests in ${collection.item.length} folders to ${out}`);
  const openapi = option(args, '--openapi');
  if (openapi) {
    const file = path.resolve(openapi);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
    console.log(`Wrote the OpenAPI document to ${file}`);
  }
}

try {
  main();
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
