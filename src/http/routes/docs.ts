import { readFile } from 'node:fs/promises';
import path from 'node:path';
import getAbsoluteFSPath from 'swagger-ui-dist/absolute-path';
import { DomainError } from '../../errors';
import { ApiRouter } from '../api-router';
import { DOC_ASSETS } from '../openapi/assets';
import { OpenApiDocument } from '../openapi/types';
import { HttpServices } from '../types';

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/**
 * The page's own policy (it replaces the API's `default-src 'none'`): scripts, styles, fonts and
 * calls from this origin only. Swagger UI's stylesheet draws its icons as data: images.
 */
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const page = (product: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${product} API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="/docs/assets/favicon-16x16.png" sizes="16x16">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/docs.js"></script>
</body>
</html>
`;

/**
 * `GET /openapi.json` (the document, assembled from what every router declared: `document` is
 * handed in by src/http/routes/index.ts, so this file imports no route) and `GET /docs` (Swagger
 * UI, from the swagger-ui-dist package and served from here, so no CDN and "try it out" calls
 * this same origin).
 */
export function docsRouter(svc: HttpServices, document: () => OpenApiDocument): ApiRouter {
  const r = new ApiRouter({ tag: 'Operations', auth: 'public' });
  const dir = getAbsoluteFSPath();
  const files = new Map<string, Buffer>();

  r.get(
    '/openapi.json',
    {
      operationId: 'openApiDocument',
      summary: 'This OpenAPI 3.1 document',
      ok: { status: 200, description: 'The document', schema: 'OpenApiDocument' },
    },
    (ctx) => {
      ctx.set('Cache-Control', 'no-cache');
      ctx.body = document();
    },
  );

  r.get(
    '/docs',
    {
      operationId: 'docs',
      summary: 'Interactive API documentation (Swagger UI, served by this service)',
      ok: { status: 200, description: 'The documentation page', content: { 'text/html': { schema: { type: 'string' } } } },
    },
    (ctx) => {
      ctx.set('Content-Security-Policy', DOCS_CSP);
      ctx.set('Cache-Control', 'no-cache');
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = page(escapeHtml(svc.config.productName));
    },
  );

  r.get(
    '/docs/assets/:file',
    {
      operationId: 'docsAsset',
      summary: 'A static file of the documentation page',
      queryParams: [{ name: 'file', in: 'path', required: true, schema: { type: 'string', enum: Object.keys(DOC_ASSETS) } }],
      ok: {
        status: 200,
        description: 'The file',
        content: Object.fromEntries(
          [...new Set(Object.values(DOC_ASSETS).map((a) => a.type.split(';')[0]))].map((t) => [t, { schema: { type: 'string' } }]),
        ),
      },
      errors: { 404: 'No such file' },
    },
    async (ctx) => {
      const name = ctx.params.file;
      if (!Object.prototype.hasOwnProperty.call(DOC_ASSETS, name)) throw new DomainError('NOT_FOUND', 'No such file');
      const asset = DOC_ASSETS[name];
      let body: string | Buffer;
      if ('text' in asset.from) body = asset.from.text;
      else {
        const file = asset.from.file;
        body = files.get(file) ?? (await readFile(path.join(dir, file)));
        files.set(file, body);
      }
      ctx.set('Cache-Control', 'public, max-age=3600');
      ctx.type = asset.type;
      ctx.body = body;
    },
  );

  return r;
}
