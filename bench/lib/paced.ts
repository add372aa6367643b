/**
 * An open-loop client at a steady rate: request i is due at start + i/rate, sent on a pool of
 * keep-alive connections, and its latency is measured from when it was due (so a slow server
 * cannot hide its queue by slowing the client: no coordinated omission). autocannon's own
 * pacing sends each connection's share of a second in a burst at the start of the second,
 * which measures bursts, not a steady rate; this does not.
 */
import http from 'node:http';
import { LoadResult, percentile } from './results';

export interface PacedRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface PacedOptions {
  url: string;
  rate: number;
  durationSeconds: number;
  /** Connections at most (kept alive); requests beyond wait for one, the wait counted in latency. */
  connections: number;
  request: (i: number) => PacedRequest;
  /** How long answers still in flight at the end are waited for. */
  drainMs?: number;
}

export function runPaced(o: PacedOptions): Promise<LoadResult> {
  const u = new URL(o.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections });
  const samples: number[] = [];
  const statuses: Record<string, number> = {};
  const sampleErrors: string[] = [];
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let inFlight = 0;
  let sent = 0;
  let lastAnswerMs = 0;
  let finished = false;
  const started = process.hrtime.bigint();
  const nowMs = () => Number(process.hrtime.bigint() - started) / 1e6;
  const total = Math.floor(o.rate * o.durationSeconds);

  const send = (i: number, dueMs: number) => {
    const r = o.request(i);
    inFlight++;
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        method: r.method,
        path: r.path,
        agent,
        headers: { ...(r.headers ?? {}), ...(r.body ? { 'content-length': Buffer.byteLength(r.body) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          inFlight--;
          lastAnswerMs = nowMs();
          const status = res.statusCode ?? 0;
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (status >= 200 && status < 300) {
            ok++;
            samples.push(nowMs() - dueMs);
          } else {
            non2xx++;
            if (sampleErrors.length < 5) sampleErrors.push(`${status} ${Buffer.concat(chunks).toString('utf8').slice(0, 300)}`);
          }
        });
      },
    );
    req.on('error', (err) => {
      inFlight--;
      if (finished) return; // aborted by the end of the run: counted as abandoned
      errors++;
      if (sampleErrors.length < 5) sampleErrors.push(`error ${err.message}`);
    });
    if (r.body) req.write(r.body);
    req.end();
  };

  return new Promise<LoadResult>((resolve) => {
    const tick = () => {
      const t = nowMs();
      while (sent < total && (sent * 1000) / o.rate <= t) {
        send(sent, (sent * 1000) / o.rate);
        sent++;
      }
      if (sent < total) {
        setTimeout(tick, 1);
        return;
      }
      const deadline = Date.now() + (o.drainMs ?? 10_000);
      const drain = () => {
        if (inFlight > 0 && Date.now() < deadline) {
          setTimeout(drain, 5);
          return;
        }
        finished = true;
        const abandoned = inFlight;
        agent.destroy();
        const sorted = Float64Array.from(samples).sort();
        resolve({
          // A server slower than the rate answers after the last request was due: count that time.
          rps: ok / Math.max(o.durationSeconds, lastAnswerMs / 1000),
          requests: ok + non2xx,
          ok,
          non2xx,
          errors,
          timeouts: 0,
          abandoned,
          statuses,
          p50: percentile(sorted, 50),
          p90: percentile(sorted, 90),
          p99: percentile(sorted, 99),
          max: sorted.length ? sorted[sorted.length - 1] : NaN,
          mean: samples.length ? samples.reduce((a, b) => a + b, 0) / samples.length : NaN,
          durationSeconds: o.durationSeconds,
          connections: o.connections,
          targetRate: o.rate,
          sampleErrors,
        });
      };
      drain();
    };
    tick();
  });
}
