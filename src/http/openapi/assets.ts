/**
 * The files of the /docs page: Swagger UI's own, served from the swagger-ui-dist package
 * (nothing from a CDN), and the script that starts it (ours: the page's CSP allows no inline
 * script). Every other name under /docs/assets is a 404.
 */
export interface DocAsset {
  type: string;
  /** A file of the swagger-ui-dist package, or the content itself. */
  from: { file: string } | { text: string };
}

const START_SCRIPT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    validatorUrl: null,
    tryItOutEnabled: false,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
  });
});
`;

export const DOC_ASSETS: Record<string, DocAsset> = {
  'swagger-ui.css': { type: 'text/css; charset=utf-8', from: { file: 'swagger-ui.css' } },
  'swagger-ui-bundle.js': { type: 'text/javascript; charset=utf-8', from: { file: 'swagger-ui-bundle.js' } },
  'favicon-32x32.png': { type: 'image/png', from: { file: 'favicon-32x32.png' } },
  'favicon-16x16.png': { type: 'image/png', from: { file: 'favicon-16x16.png' } },
  'docs.js': { type: 'text/javascript; charset=utf-8', from: { text: START_SCRIPT } },
};
