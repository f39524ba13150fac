/**
 * The metrics as Prometheus reads them: the slots' counts in the text format, histograms
 * cumulative with +Inf, the gauges read when scraped, and each app's families exactly
 * those the catalogue gives it. And the hot path's cost: observing allocates nothing.
 */
import { describe, expect, it } from 'vitest';
import { FastHistogram, LATENCY_BUCKETS } from './fast-metrics.js';
import { exportedFamilies, HeraldMetrics, METRICS, type HeraldApp } from './herald-metrics.js';

describe('Herald metrics', () => {
  it('exports counters, histograms and gauges in the Prometheus text format', async () => {
    const metrics = new HeraldMetrics('api', { processMetrics: false });
    metrics.command('SendMessage', 'accepted').inc();
    metrics.command('SendMessage', 'accepted').inc();
    metrics.command('SendMessage', 'refused').inc();
    metrics.appendOk.observe(0.003);
    metrics.appendOk.observe(20);
    metrics.pushFrames.inc(5);
    metrics.countConnectionsWith(() => 7);
    metrics.readProjectionsFrom(() =>
      Promise.resolve([
        { projection: 'timeline.v1', lag: 12, active: true },
        { projection: 'inbox.v1', lag: null, active: false },
      ]),
    );
    const { body, contentType } = await metrics.scrape();
    expect(contentType).toContain('text/plain');
    expect(body).toContain('herald_commands_total{type="SendMessage",outcome="accepted"} 2');
    expect(body).toContain('herald_commands_total{type="SendMessage",outcome="refused"} 1');
    expect(body).toContain('herald_commands_total{type="SendMessage",outcome="failed"} 0');
    expect(body).toContain('herald_event_store_append_duration_seconds_bucket{outcome="ok",le="0.0025"} 0');
    expect(body).toContain('herald_event_store_append_duration_seconds_bucket{outcome="ok",le="0.005"} 1');
    expect(body).toContain('herald_event_store_append_duration_seconds_bucket{outcome="ok",le="10"} 1');
    expect(body).toContain('herald_event_store_append_duration_seconds_bucket{outcome="ok",le="+Inf"} 2');
    expect(body).toContain('herald_event_store_append_duration_seconds_sum{outcome="ok"} 20.003');
    expect(body).toContain('herald_event_store_append_duration_seconds_count{outcome="ok"} 2');
    expect(body).toContain('herald_push_frames_total 5');
    expect(body).toContain('herald_websocket_connections 7');
    expect(body).toContain('herald_projection_lag_events{projection="timeline.v1"} 12');
    // A lag that could not be counted is left out, not reported as 0.
    expect(body).not.toContain('herald_projection_lag_events{projection="inbox.v1"}');
    expect(body).toContain('herald_projection_active{projection="inbox.v1"} 0');
  });

  it('each app exports the families the catalogue gives it, and no other of Herald’s', async () => {
    for (const app of ['api', 'projector', 'relay'] as HeraldApp[]) {
      const { body } = await new HeraldMetrics(app).scrape();
      const families = new Set([...body.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
      expect(
        exportedFamilies(app).filter((n) => !families.has(n)),
        app,
      ).toEqual([]);
      const herald = [...families].filter((n) => n.startsWith('herald_')).sort();
      expect(herald, app).toEqual(
        Object.entries(METRICS)
          .filter(([, spec]) => (spec.apps as readonly string[]).includes(app))
          .map(([name]) => name)
          .sort(),
      );
    }
  });

  it('refuses a label set the metric does not take', () => {
    const histogram = new FastHistogram('h', 'help', ['route'], LATENCY_BUCKETS);
    expect(() => histogram.slot({ path: '/x' })).toThrow('takes the labels route');
    expect(histogram.slot({ route: '/a' })).toBe(histogram.slot({ route: '/a' }));
  });

  it('observing and counting on the hot path allocate nothing', () => {
    const metrics = new HeraldMetrics('api', { processMetrics: false });
    const slot = metrics.httpDuration.slot({ method: 'POST', route: '/conversations/:id/messages', status: '201' });
    const command = (): void => metrics.command('SendMessage', 'accepted').inc();
    const work = (n: number): void => {
      for (let i = 0; i < n; i++) {
        slot.observe((i % 100) / 1000);
        metrics.pushFrames.inc();
        command();
      }
    };
    work(100_000); // warm up: optimized code, slots made
    globalThis.gc?.();
    const before = process.memoryUsage().heapUsed;
    work(1_000_000);
    const grown = process.memoryUsage().heapUsed - before;
    // A million rounds of three observations: a byte each would be 3 MB. Allow for the
    // test runner's own allocations meanwhile.
    expect(grown).toBeLessThan(1_000_000);
  });
});
