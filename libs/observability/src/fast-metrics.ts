/**
 * Counters and histograms for the hot paths (a send, a push), read by prom-client's registry
 * at scrape time. prom-client's own labelled metrics hash their labels into a new string on
 * every `inc`/`observe`; these keep one slot per label set, found once (when a route is
 * registered, a command type first seen) and then written with a plain `+= 1`: nothing is
 * allocated per observation (bench/metrics.ts measures it). The registry formats them like
 * any other metric (`get()`, prom-client's metric interface).
 */
import type { Registry } from 'prom-client';

type Labels = Readonly<Record<string, string>>;

/** One series as the registry formats it. */
interface Series {
  readonly metricName?: string;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
}

/** What the registry reads from a metric when it is scraped. */
export interface MetricSnapshot {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly aggregator: 'sum';
  readonly values: readonly Series[];
}

/** One label set of a counter: `value += n` is the whole cost of counting. */
export class CounterSlot {
  value = 0;
  constructor(readonly labels: Labels) {}
  inc(n = 1): void {
    this.value += n;
  }
}

/** One label set of a histogram: a bucket found by a short linear scan, three numbers written. */
export class HistogramSlot {
  /** Per bucket (not cumulative); the last one is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

interface Family<S> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly slots: S[];
}

abstract class SlotMetric<S extends { readonly labels: Labels }> implements Family<S> {
  readonly slots: S[] = [];
  readonly aggregator = 'sum' as const;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  /** Adds this metric to a registry (prom-client takes any object with `get()`). */
  registerIn(registry: Registry): this {
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
    return this;
  }

  /** The slot for these labels; made on first use. For set-up code, not the hot path. */
  slot(labels: Labels = {}): S {
    const names = Object.keys(labels);
    if (names.length !== this.labelNames.length || names.some((n) => !this.labelNames.includes(n))) {
      throw new Error(`${this.name} takes the labels ${this.labelNames.join(', ')}`);
    }
    const found = this.slots.find((s) => this.labelNames.every((n) => s.labels[n] === labels[n]));
    if (found) return found;
    const made = this.make({ ...labels });
    this.slots.push(made);
    return made;
  }

  protected abstract make(labels: Labels): S;
}

export class FastCounter extends SlotMetric<CounterSlot> {
  readonly type = 'counter' as const;

  protected make(labels: Labels): CounterSlot {
    return new CounterSlot(labels);
  }

  get(): Promise<MetricSnapshot> {
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.slots.map((s) => ({ labels: s.labels, value: s.value })),
    });
  }
}

export class FastHistogram extends SlotMetric<HistogramSlot> {
  readonly type = 'histogram' as const;

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
    if (buckets.some((b, i) => i > 0 && b <= buckets[i - 1]!)) throw new Error(`${name}: buckets must increase`);
  }

  protected make(labels: Labels): HistogramSlot {
    return new HistogramSlot(labels, this.buckets);
  }

  get(): Promise<MetricSnapshot> {
    const values: Series[] = [];
    for (const slot of this.slots) {
      let cumulative = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += slot.counts[i]!;
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { ...slot.labels, le: i < this.buckets.length ? this.buckets[i]! : '+Inf' },
          value: cumulative,
        });
      }
      values.push({ metricName: `${this.name}_sum`, labels: slot.labels, value: slot.sum });
      values.push({ metricName: `${this.name}_count`, labels: slot.labels, value: slot.count });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }
}

/** Latency buckets, in seconds, from 1 ms to 10 s. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
