/**
 * Every metric Herald exports on `/metrics` (Prometheus text format, prom-client), with the
 * apps that export it. One `HeraldMetrics` per process: its app registers its families,
 * the code that does the work writes to their slots (fast-metrics.ts), and the gauges read
 * their sources when scraped. deploy/grafana/herald.json is built on these names (a test
 * checks every query against this catalogue, and the several-process test checks the
 * catalogue against what each app's /metrics really shows).
 */
import type { ProjectionReading } from '@herald/projection-runtime';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { CounterSlot, FastCounter, FastHistogram, HistogramSlot, LATENCY_BUCKETS } from './fast-metrics.js';

export type HeraldApp = 'api' | 'projector' | 'relay';

interface MetricSpec {
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly labels: readonly string[];
  readonly apps: readonly HeraldApp[];
}

/** The catalogue: name → what it is and which apps export it. README "Metrics" lists the same. */
export const METRICS = {
  herald_http_request_duration_seconds: {
    help: 'HTTP requests by method, route template (not the raw URL) and status, in seconds',
    type: 'histogram',
    labels: ['method', 'route', 'status'],
    apps: ['api'],
  },
  herald_commands_total: {
    help: 'Commands handled, by type and outcome (accepted, refused: a 4xx answer, unavailable: 503, failed: other 5xx)',
    type: 'counter',
    labels: ['type', 'outcome'],
    apps: ['api'],
  },
  herald_event_store_append_duration_seconds: {
    help: 'Appends to the event store, from the call to its acknowledgement (group commit included), in seconds',
    type: 'histogram',
    labels: ['outcome'],
    apps: ['api'],
  },
  herald_websocket_connections: {
    help: 'WebSocket connections open on this process',
    type: 'gauge',
    labels: [],
    apps: ['api'],
  },
  herald_push_frames_total: {
    help: 'Frames written to WebSocket clients (events, typing, presence, answers)',
    type: 'counter',
    labels: [],
    apps: ['api'],
  },
  herald_push_slow_consumers_dropped_total: {
    help: 'WebSocket clients closed because they read too slowly (close 4008)',
    type: 'counter',
    labels: [],
    apps: ['api'],
  },
  herald_projection_events_applied_total: {
    help: 'Events applied to each read model by this process',
    type: 'counter',
    labels: ['projection'],
    apps: ['api', 'projector', 'relay'],
  },
  herald_projection_lag_events: {
    help: 'Events in the log after the projection checkpoint, wherever it runs (counted up to 100,000, at most once a second)',
    type: 'gauge',
    labels: ['projection'],
    apps: ['api', 'projector', 'relay'],
  },
  herald_projection_active: {
    help: '1 while this process is the active instance of the projection (holds its lock), else 0',
    type: 'gauge',
    labels: ['projection'],
    apps: ['api', 'projector', 'relay'],
  },
  herald_relay_lag_events: {
    help: 'Events in the log after the Kafka relay checkpoint (counted up to 100,000, at most once a second)',
    type: 'gauge',
    labels: [],
    apps: ['api', 'relay'],
  },
  herald_relay_records_published_total: {
    help: 'Records the Kafka relay produced and the brokers acknowledged, by this process',
    type: 'counter',
    labels: [],
    apps: ['api', 'relay'],
  },
} as const satisfies Record<string, MetricSpec>;

export type HeraldMetricName = keyof typeof METRICS;

/** Node.js and process metrics from prom-client's defaults that the dashboard uses (every app exports them). */
export const DEFAULT_METRICS = [
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
  'nodejs_eventloop_lag_p99_seconds',
  'nodejs_heap_size_used_bytes',
  'nodejs_gc_duration_seconds',
] as const;

/** The metric families an app's /metrics has (`# TYPE` lines): its catalogue entries and the defaults the dashboard uses. */
export function exportedFamilies(app: HeraldApp): string[] {
  return [
    ...(Object.entries(METRICS) as [string, MetricSpec][]).filter(([, s]) => s.apps.includes(app)).map(([n]) => n),
    ...DEFAULT_METRICS,
  ];
}

/** The names a dashboard query may use for an app's metric: histograms have their series' suffixes. */
export function exportedNames(app?: HeraldApp): Set<string> {
  const names = new Set<string>(DEFAULT_METRICS);
  // prom-client's one default histogram the dashboard reads.
  for (const suffix of ['_bucket', '_sum', '_count']) names.add(`nodejs_gc_duration_seconds${suffix}`);
  for (const [name, spec] of Object.entries(METRICS) as [string, MetricSpec][]) {
    if (app && !spec.apps.includes(app)) continue;
    names.add(name);
    if (spec.type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

/** The command outcomes `herald_commands_total` counts. */
export type CommandOutcome = 'accepted' | 'refused' | 'unavailable' | 'failed';
const OUTCOMES: readonly CommandOutcome[] = ['accepted', 'refused', 'unavailable', 'failed'];

export class HeraldMetrics {
  readonly registry = new Registry();
  /** Per route, filled by the HTTP hooks (http-metrics.ts). */
  readonly httpDuration: FastHistogram;
  readonly appendOk: HistogramSlot;
  readonly appendFailed: HistogramSlot;
  readonly pushFrames: CounterSlot;
  readonly slowConsumersDropped: CounterSlot;
  readonly relayRecords: CounterSlot;
  private readonly commands: FastCounter;
  /** Per command type, its slots in OUTCOMES order: found by one Map lookup of a constant string. */
  private readonly commandSlots = new Map<string, readonly CounterSlot[]>();
  private readonly projectionEvents: FastCounter;
  private projectionSource: () => Promise<readonly ProjectionReading[]> = () => Promise.resolve([]);
  private relaySource: () => Promise<number | null> = () => Promise.resolve(null);
  private connectionSource: () => number = () => 0;

  /**
   * `processMetrics: false` leaves out prom-client's process and Node.js metrics (each set
   * samples the event loop's delay on a timer of its own): for tests that boot many apps in
   * one process.
   */
  constructor(
    readonly app: HeraldApp,
    options: { readonly processMetrics?: boolean } = {},
  ) {
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    const exports = (name: HeraldMetricName): boolean => (METRICS[name].apps as readonly HeraldApp[]).includes(app);
    const histogram = (name: HeraldMetricName): FastHistogram => {
      const histogram = new FastHistogram(name, METRICS[name].help, METRICS[name].labels, LATENCY_BUCKETS);
      return exports(name) ? histogram.registerIn(this.registry) : histogram;
    };
    const counter = (name: HeraldMetricName): FastCounter => {
      const counter = new FastCounter(name, METRICS[name].help, METRICS[name].labels);
      return exports(name) ? counter.registerIn(this.registry) : counter;
    };
    const gauge = (name: HeraldMetricName, collect: (gauge: Gauge) => Promise<void> | void): void => {
      if (!exports(name)) return;
      new Gauge({
        name,
        help: METRICS[name].help,
        labelNames: METRICS[name].labels,
        registers: [this.registry],
        collect() {
          return collect(this);
        },
      });
    };

    this.httpDuration = histogram('herald_http_request_duration_seconds');
    this.commands = counter('herald_commands_total');
    const append = histogram('herald_event_store_append_duration_seconds');
    this.appendOk = append.slot({ outcome: 'ok' });
    this.appendFailed = append.slot({ outcome: 'error' });
    gauge('herald_websocket_connections', (g) => g.set(this.connectionSource()));
    this.pushFrames = counter('herald_push_frames_total').slot();
    this.slowConsumersDropped = counter('herald_push_slow_consumers_dropped_total').slot();
    this.projectionEvents = counter('herald_projection_events_applied_total');
    // One read of the source per scrape serves both projection gauges.
    let reading: Promise<readonly ProjectionReading[]> | undefined;
    const readings = (): Promise<readonly ProjectionReading[]> =>
      (reading ??= this.projectionSource()
        .catch(() => [])
        .finally(() => setImmediate(() => (reading = undefined))));
    gauge('herald_projection_lag_events', async (g) => {
      g.reset();
      for (const r of await readings()) if (r.lag !== null) g.set({ projection: r.projection }, r.lag);
    });
    gauge('herald_projection_active', async (g) => {
      g.reset();
      for (const r of await readings()) g.set({ projection: r.projection }, r.active ? 1 : 0);
    });
    gauge('herald_relay_lag_events', async (g) => {
      g.reset();
      const lag = await this.relaySource().catch(() => null);
      if (lag !== null) g.set(lag);
    });
    this.relayRecords = counter('herald_relay_records_published_total').slot();
  }

  /** The counter slot of a command type and outcome; set-up code keeps it, or the hot path looks it up here (no allocation). */
  command(type: string, outcome: CommandOutcome): CounterSlot {
    let slots = this.commandSlots.get(type);
    if (!slots) {
      slots = OUTCOMES.map((o) => this.commands.slot({ type, outcome: o }));
      this.commandSlots.set(type, slots);
    }
    return slots[OUTCOMES.indexOf(outcome)]!;
  }

  /** The applied-events slot of a projection (kept by its runner's hook). */
  projectionApplied(projection: string): CounterSlot {
    return this.projectionEvents.slot({ projection });
  }

  /** Where the projection gauges read lag and activity. */
  readProjectionsFrom(source: () => Promise<readonly ProjectionReading[]>): void {
    this.projectionSource = source;
  }

  /** Where `herald_relay_lag_events` reads. */
  readRelayLagFrom(source: () => Promise<number | null>): void {
    this.relaySource = source;
  }

  /** Where `herald_websocket_connections` reads. */
  countConnectionsWith(source: () => number): void {
    this.connectionSource = source;
  }

  /** The exposition: `/metrics`'s body and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
