/**
 * `npm run bench:metrics`: what counting costs on the hot path, per observation, in time
 * and heap: Herald's slots (libs/observability/src/fast-metrics.ts) against prom-client's
 * labelled metrics, the way a send (an HTTP request, a command, an append) and a push use
 * them. Run with `node --expose-gc` for steadier heap figures (the npm script does).
 *
 * Environment: BENCH_OPS (2,000,000 observations per case), BENCH_RUNS (3).
 */
import { HeraldMetrics } from '@herald/observability';
import { Counter, Histogram, Registry } from 'prom-client';
import { machine, median, round } from './report.js';

const OPS = Number(process.env.BENCH_OPS ?? 2_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const HEAP_OPS = 10_000;

interface Figures {
  readonly nsPerOp: number;
  readonly bytesPerOp: number;
}

function measure(work: (i: number) => void): Figures {
  for (let i = 0; i < 200_000; i++) work(i); // warm up
  const runs: Figures[] = [];
  for (let r = 0; r < RUNS; r++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < OPS; i++) work(i);
    const ns = Number(process.hrtime.bigint() - started);
    // Heap per observation over a batch small enough that no collection runs meanwhile
    // (a few MB at most fit in the young generation), right after a full one.
    globalThis.gc?.();
    const heap = process.memoryUsage().heapUsed;
    for (let i = 0; i < HEAP_OPS; i++) work(i);
    const grown = process.memoryUsage().heapUsed - heap;
    runs.push({ nsPerOp: ns / OPS, bytesPerOp: Math.max(0, grown) / HEAP_OPS });
  }
  return {
    nsPerOp: round(median(runs.map((r) => r.nsPerOp)), 1),
    bytesPerOp: round(median(runs.map((r) => r.bytesPerOp)), 2),
  };
}

const metrics = new HeraldMetrics('api', { processMetrics: false });
const route = metrics.httpDuration.slot({ method: 'POST', route: '/conversations/:id/messages', status: '201' });
const registry = new Registry();
const promHistogram = new Histogram({
  name: 'h_seconds',
  help: 'h',
  labelNames: ['method', 'route', 'status'],
  registers: [registry],
});
const promCounter = new Counter({ name: 'c_total', help: 'c', labelNames: ['type', 'outcome'], registers: [registry] });
const promChild = promHistogram.labels('POST', '/conversations/:id/messages', '201');
const labels = { method: 'POST', route: '/conversations/:id/messages', status: '201' };

console.log(machine());
console.log(`${OPS} observations per case, median of ${RUNS} runs; gc exposed: ${typeof globalThis.gc === 'function'}`);
const cases: Record<string, Figures> = {
  'Herald: HTTP histogram slot observe': measure((i) => route.observe((i & 255) / 10_000)),
  'Herald: push frame counter inc': measure(() => metrics.pushFrames.inc()),
  'Herald: command counter (lookup by type + inc)': measure(() => metrics.command('SendMessage', 'accepted').inc()),
  'prom-client: histogram observe(labels, v)': measure((i) => promHistogram.observe(labels, (i & 255) / 10_000)),
  'prom-client: histogram child observe(v)': measure((i) => promChild.observe((i & 255) / 10_000)),
  'prom-client: counter inc(labels)': measure(() => promCounter.inc({ type: 'SendMessage', outcome: 'accepted' })),
};
const width = Math.max(...Object.keys(cases).map((k) => k.length));
console.log(`${'case'.padEnd(width)}  ${'ns/op'.padStart(8)}  ${'bytes/op'.padStart(9)}`);
for (const [name, f] of Object.entries(cases)) {
  console.log(`${name.padEnd(width)}  ${String(f.nsPerOp).padStart(8)}  ${String(f.bytesPerOp).padStart(9)}`);
}
// A send costs one HTTP observation, one command count and one append observation; a push one count.
const herald = cases['Herald: HTTP histogram slot observe']!;
const prom = cases['prom-client: histogram observe(labels, v)']!;
console.log(
  JSON.stringify({
    heraldObserveNs: herald.nsPerOp,
    heraldObserveBytes: herald.bytesPerOp,
    heraldCountNs: cases['Herald: push frame counter inc']!.nsPerOp,
    heraldCommandNs: cases['Herald: command counter (lookup by type + inc)']!.nsPerOp,
    promClientObserveNs: prom.nsPerOp,
    promClientObserveBytes: prom.bytesPerOp,
  }),
);
