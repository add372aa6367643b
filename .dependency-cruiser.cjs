/**
 * The layers of src/, bottom to top (DESIGN.md "Layers hold"). A module may import its own layer
 * and the layers below it, never one above; and no import circles anywhere.
 *
 *   1  events, errors, eventstore, config   what happened, what a decision refuses, where events are kept,
 *                                          how the process is set up (errors is a leaf: it imports nothing)
 *   2  infra                               adapters to the outside: Redis, JWT, hashing, metrics, mail transport
 *   3  commands                            deciders and use-cases (the write side)
 *   4  projections                         read models and their runtime (the read side)
 *   5  workers                             reactors, queues, processors
 *   6  http                                Koa app, routes, OpenAPI
 *   7  system, main, cli                   wiring and entry points
 *
 * An interface two layers share sits in the lower one, beside its implementation (commands
 * defines the API-key verifier that http calls), and a lower module is handed what it needs from
 * a higher one (system.ts passes metrics the projection lags and the queues), so no arrow points up.
 */
const LAYERS = [
  ['src/(events|errors|eventstore|config)/'],
  ['src/infra/'],
  ['src/commands/'],
  ['src/projections/'],
  ['src/workers/'],
  ['src/http/'],
  ['src/(system|main)\\.ts$', 'src/cli/'],
];

const pathsOf = (layers) => `^(${layers.flat().join('|')})`;

const upward = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `layer-${i + 1}-imports-above`,
  comment: `${layer.join(', ')} must not import a higher layer (see the table at the top of this file)`,
  severity: 'error',
  from: { path: pathsOf([layer]) },
  to: { path: pathsOf(LAYERS.slice(i + 1)) },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment:
        'Import circles make a layer order impossible; cut the loop (move the shared type to the lower file, or a port to its user).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...upward,
    {
      name: 'errors-is-a-leaf',
      comment: 'Domain errors sit below every layer that raises them, so they may import nothing of src/.',
      severity: 'error',
      from: { path: '^src/errors/' },
      to: { path: '^src/', pathNot: '^src/errors/' },
    },
    {
      name: 'openapi-not-into-routes',
      comment:
        'The OpenAPI document is assembled from the operations the routers recorded (src/http/api-router.ts), so its module never imports a route file: routes/docs.ts serves it without a circle through them.',
      severity: 'error',
      from: { path: '^src/http/openapi/' },
      to: { path: '^src/http/routes/' },
    },
    {
      name: 'src-not-into-tests-or-bench',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(tests|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|dist)/' },
  },
};
