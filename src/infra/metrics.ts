import type { Queue } from 'bullmq';
import client from 'prom-client';
import { AppendResult, EventStore, Expected, NewEvent, Position, RecordedEvent } from '../eventstore/types';

/** How far one projection or reactor is behind the log. */
export interface ProjectionLag {
  projection: string;
  events: number;
  seconds: number;
}

/** Prometheus metrics of one process, served at GET /metrics. */
export class Metrics {
  readonly registry = new client.Registry();

  readonly httpDuration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly logins = new client.Counter({
    name: 'auth_logins_total',
    help: 'Password sign-ins by outcome (success, failure, locked)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly appends = new client.Counter({
    name: 'eventstore_appends_total',
    help: 'Appends to the event store by stream category and result',
    labelNames: ['category', 'result'] as const,
    registers: [this.registry],
  });

  readonly appendedEvents = new client.Counter({
    name: 'eventstore_events_appended_total',
    help: 'Events appended by stream category',
    labelNames: ['category'] as const,
    registers: [this.registry],
  });

  constructor() {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'iam_' });
  }

  /**
   * Lag per projection and reactor, measured when scraped. The read side passes its measurement
   * in (src/projections/checkpoints.ts projectionLags), so metrics knows nothing of it.
   */
  watchProjections(measure: () => Promise<ProjectionLag[]>): void {
    // prom-client calls collect() on scrape; a failing database shows as missing samples.
    const lagEvents: client.Gauge<'projection'> = new client.Gauge({
      name: 'projection_lag_events',
      help: 'Events appended but not yet processed',
      labelNames: ['projection'] as const,
      registers: [this.registry],
      collect: () => collect().catch(() => undefined),
    });
    const lagSeconds: client.Gauge<'projection'> = new client.Gauge({
      name: 'projection_lag_seconds',
      help: 'Age of the oldest event not yet processed (0 when caught up)',
      labelNames: ['projection'] as const,
      registers: [this.registry],
      collect: () => collect().catch(() => undefined),
    });
    // Both gauges come from one query round per scrape (prom-client collects them concurrently).
    let inFlight: Promise<void> | null = null;
    const collect = (): Promise<void> =>
      (inFlight ??= measure()
        .then((lags) => {
          for (const lag of lags) {
            lagEvents.set({ projection: lag.projection }, lag.events);
            lagSeconds.set({ projection: lag.projection }, lag.seconds);
          }
        })
        .finally(() => {
          inFlight = null;
        }));
  }

  /** Jobs per queue and state (waiting, active, delayed, failed, completed). */
  watchQueues(queues: readonly Queue[]): void {
    const jobs: client.Gauge<'queue' | 'state'> = new client.Gauge({
      name: 'queue_jobs',
      help: 'Jobs per queue and state (failed jobs are kept for inspection)',
      labelNames: ['queue', 'state'] as const,
      registers: [this.registry],
      collect: async () => {
        for (const q of queues) {
          const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed').catch(() => null);
          if (counts) for (const [state, n] of Object.entries(counts)) jobs.set({ queue: q.name, state }, n);
        }
      },
    });
  }
}

const categoryOf = (stream: string): string => stream.split('-')[0];

/** The event store with every append counted. */
export function instrumentStore(store: EventStore, metrics: Metrics): EventStore {
  return {
    async append(stream: string, events: NewEvent[], expected: Expected): Promise<AppendResult> {
      const category = categoryOf(stream);
      try {
        const r = await store.append(stream, events, expected);
        metrics.appends.inc({ category, result: 'ok' });
        metrics.appendedEvents.inc({ category }, events.length);
        return r;
      } catch (e) {
        metrics.appends.inc({ category, result: 'error' });
        throw e;
      }
    },
    read: (stream: string, fromRevision?: bigint): AsyncIterable<RecordedEvent> => store.read(stream, fromRevision),
    readTails: store.readTails ? (reads) => store.readTails!(reads) : undefined,
    readAll: (after: Position | null, batchSize: number) => store.readAll(after, batchSize),
    readRecent: (since: Date, types: readonly string[]) => store.readRecent(since, types),
    onAppend: store.onAppend ? (l: (appended?: Position) => void) => store.onAppend!(l) : undefined,
    headPosition: () => store.headPosition(),
    ping: () => store.ping(),
    close: () => store.close(),
  };
}
