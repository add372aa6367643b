/**
 * Load driving with autocannon, run in the load process (bench/lib/load-process.ts). Latencies
 * are taken from autocannon's per-response events with sub-millisecond precision (its own
 * histogram keeps whole milliseconds) and only for 2xx answers; every status is counted.
 */
import autocannon from 'autocannon';
import { LoadResult, percentile } from './results';

type Request = autocannon.Request & { state?: unknown };

export interface LoadOptions {
  url: string;
  connections: number;
  durationSeconds: number;
  /** Requests, as autocannon takes them (setupRequest / onResponse for dynamic ones). */
  requests: Request[];
  /**
   * Called once per connection before its first request: per-connection state (e.g. a session
   * whose refresh token each answer replaces). Receives the connection's own copy of `requests`.
   */
  perConnection?: (requests: Request[], index: number) => void;
}

/** Runs one autocannon instance; resolves with the numbers. */
export function runLoad(o: LoadOptions): Promise<LoadResult> {
  const samples: number[] = [];
  const statuses: Record<string, number> = {};
  const sampleErrors: string[] = [];
  let ok = 0;
  let non2xx = 0;
  let connIndex = 0;
  const requests = o.requests.map((r) => ({ ...r }));
  // Record non-2xx bodies through onResponse wrappers (each keeps the caller's own handler).
  for (const r of requests) {
    const inner = r.onResponse;
    r.onResponse = (status: number, body: string, context: object, headers: autocannon.Request['headers']) => {
      if ((status < 200 || status >= 300) && sampleErrors.length < 5) sampleErrors.push(`${status} ${String(body).slice(0, 300)}`);
      if (typeof inner === 'function') inner(status, body, context, headers);
    };
  }
  const started = process.hrtime.bigint();
  const instance = autocannon(
    {
      url: o.url,
      connections: o.connections,
      duration: o.durationSeconds,
      requests,
      timeout: 30,
      setupClient: (client: autocannon.Client) => {
        if (!o.perConnection) return;
        const it = (client as unknown as { requestIterator: { requests: Request[]; rebuildRequest(): void } }).requestIterator;
        o.perConnection(it.requests, connIndex++);
        // The first request was built before this hook ran: build it again with the new state.
        it.rebuildRequest();
      },
    } as autocannon.Options,
    () => undefined,
  );
  instance.on('response', (_client: autocannon.Client, statusCode: number, _bytes: number, responseTime: number) => {
    statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    if (statusCode >= 200 && statusCode < 300) {
      ok++;
      samples.push(responseTime);
    } else non2xx++;
  });
  return new Promise<LoadResult>((resolve, reject) => {
    instance.on('done', (r: autocannon.Result) => {
      // autocannon stops sending at `duration`; answers still in flight then are not counted.
      const secs = Math.min(Number(process.hrtime.bigint() - started) / 1e9, o.durationSeconds);
      const sorted = Float64Array.from(samples).sort();
      const mean = samples.length ? samples.reduce((a, b) => a + b, 0) / samples.length : NaN;
      resolve({
        rps: ok / Math.max(secs, 0.001),
        requests: ok + non2xx,
        ok,
        non2xx,
        errors: r.errors,
        timeouts: r.timeouts,
        statuses,
        p50: percentile(sorted, 50),
        p90: percentile(sorted, 90),
        p99: percentile(sorted, 99),
        max: sorted.length ? sorted[sorted.length - 1] : NaN,
        mean,
        durationSeconds: secs,
        connections: o.connections,
        sampleErrors,
      });
    });
    instance.on('error', reject);
  });
}
