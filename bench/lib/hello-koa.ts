/**
 * The HTTP ceiling: a bare Koa app that answers every request with "Hello World", run the way
 * the app runs its API (PROCESSES > 1: that many node:cluster forks sharing the port, the
 * primary serving nothing). Driven with the same connections and autocannon settings as the
 * read scenarios, it is the most this machine's Node, Koa and load generator can do: the read
 * scenarios report their share of it.
 *
 * Usage (by the bench): PORT=… PROCESSES=… node --import tsx bench/lib/hello-koa.ts
 */
import cluster from 'node:cluster';
import Koa from 'koa';

const port = Number(process.env.PORT);
const processes = Number(process.env.PROCESSES ?? 1);

if (cluster.isPrimary && processes > 1) {
  for (let i = 0; i < processes; i++) cluster.fork();
  process.on('SIGTERM', () => {
    // Gone once its forks are: the port is free when the bench sees this process exit.
    cluster.on('exit', () => Object.keys(cluster.workers ?? {}).length === 0 && process.exit(0));
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
  });
} else {
  const app = new Koa();
  app.use((ctx) => {
    ctx.body = 'Hello World';
  });
  const server = app.listen(port, '127.0.0.1');
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
