import { readFile } from 'node:fs/promises';
import path from 'node:path';
import Router from '@koa/router';
import getAbsoluteFSPath from 'swagger-ui-dist/absolute-path';
import { DomainError } from '../../errors';
import { DOC_ASSETS } from '../openapi/assets';
import { openApiDocument } from '../openapi/document';
import { AppState, HttpServices } from '../types';

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
 * `GET /openapi.json` (the document, src/http/openapi/document.ts) and `GET /docs` (Swagger UI,
 * from the swagger-ui-dist package and served from here, so no CDN and "try it out" calls this
 * same origin).
 */
export function docsRouter(svc: HttpServices): Router<AppState> {
  const r = new Router<AppState>();
  const dir = getAbsoluteFSPath();
  const files = new Map<string, Buffer>();

  r.get('/openapi.json', (ctx) => {
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = openApiDocument();
  });

  r.get('/docs', (ctx) => {
    ctx.set('Content-Security-Policy', DOCS_CSP);
    ctx.set('Cache-Control', 'no-cache');
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = page(escapeHtml(svc.config.productName));
  });

  r.get('/docs/assets/:file', async (ctx) => {
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
  });

  return r;
}
