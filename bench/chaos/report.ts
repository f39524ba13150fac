/** The chaos run's and the soak's reports: tables for people, one JSON line for machines. */
import type { Anomaly } from './checker.js';
import { FAULT_KINDS, type Entry, type FaultEntry, type FaultKind } from './history.js';

export interface ChaosSummary {
  readonly operations: number;
  readonly faultsInjected: number;
  readonly anomalies: number;
  readonly maxRecoveryMs: number;
}

export function table(rows: readonly (readonly (string | number)[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => String(r[i] ?? '').length)));
  const line = (r: readonly (string | number)[]) =>
    '| ' +
    r
      .map((c, i) => (typeof c === 'number' ? String(c).padStart(widths[i]!) : String(c).padEnd(widths[i]!)))
      .join(' | ') +
    ' |';
  return [line(rows[0]!), '| ' + widths.map((w) => '-'.repeat(w)).join(' | ') + ' |', ...rows.slice(1).map(line)].join(
    '\n',
  );
}

export function summarize(history: readonly Entry[], anomalies: readonly Anomaly[]): ChaosSummary {
  const ops = new Set<number>();
  for (const e of history) if (e.kind === 'request' && e.opKind !== 'setup') ops.add(e.op);
  const faults = history.filter((e): e is FaultEntry => e.kind === 'fault');
  return {
    operations: ops.size,
    faultsInjected: faults.length,
    anomalies: anomalies.length,
    maxRecoveryMs: Math.max(0, ...faults.map((f) => f.recoveryMs ?? Number.POSITIVE_INFINITY)),
  };
}

export function injectedKinds(history: readonly Entry[]): Record<FaultKind, number> {
  const counts = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  for (const e of history) if (e.kind === 'fault') counts[e.fault]++;
  return counts;
}

export function chaosReport(history: readonly Entry[], anomalies: readonly Anomaly[], boundMs: number): string {
  const out: string[] = [];
  const faults = history.filter((e): e is FaultEntry => e.kind === 'fault');
  const faultRows: (string | number)[][] = [['fault', 'injected', 'recovered', 'recovery p50 ms', 'recovery max ms']];
  for (const kind of FAULT_KINDS) {
    const of = faults.filter((f) => f.fault === kind);
    const times = of
      .map((f) => f.recoveryMs)
      .filter((t): t is number => t !== undefined)
      .sort((a, b) => a - b);
    faultRows.push([
      kind,
      of.length,
      times.length,
      times[Math.floor((times.length - 1) / 2)] ?? '-',
      times.at(-1) ?? '-',
    ]);
  }
  out.push(
    `Faults (recovery: from the fault's end until /health/ready is 200 and a send succeeds; bound ${boundMs} ms)`,
  );
  out.push(table(faultRows));

  const byKind = new Map<
    string,
    { ops: Set<number>; requests: number; ok: number; s503: number; s5xx: number; failed: number; other: number }
  >();
  for (const e of history) {
    if (e.kind !== 'request') continue;
    const row = byKind.get(e.opKind) ?? { ops: new Set(), requests: 0, ok: 0, s503: 0, s5xx: 0, failed: 0, other: 0 };
    row.ops.add(e.op);
    row.requests++;
    if (e.status === undefined) row.failed++;
    else if (e.status < 300) row.ok++;
    else if (e.status === 503) row.s503++;
    else if (e.status >= 500) row.s5xx++;
    else row.other++;
    byKind.set(e.opKind, row);
  }
  const opRows: (string | number)[][] = [
    ['operation', 'operations', 'requests', '2xx', '503', 'other 5xx', 'no answer', '4xx'],
  ];
  for (const [kind, r] of byKind) opRows.push([kind, r.ops.size, r.requests, r.ok, r.s503, r.s5xx, r.failed, r.other]);
  const frames = history.filter((e) => e.kind === 'frame');
  const sockets = history.filter((e) => e.kind === 'socket' && e.event === 'open').length;
  out.push('', 'Operations (retries of one operation are requests of it)', table(opRows));
  out.push(
    `WebSocket: ${sockets} sockets opened, ${frames.length} frames received (${frames.filter((f) => f.kind === 'frame' && f.type === 'event').length} events, ${frames.filter((f) => f.kind === 'frame' && f.type === 'resync').length} resyncs)`,
  );

  const anomalyRows: (string | number)[][] = [['anomaly', 'count', 'first']];
  const grouped = new Map<string, Anomaly[]>();
  for (const a of anomalies) grouped.set(a.kind, [...(grouped.get(a.kind) ?? []), a]);
  for (const [kind, list] of grouped) anomalyRows.push([kind, list.length, list[0]!.detail.slice(0, 160)]);
  out.push('', anomalies.length === 0 ? 'Anomalies: none' : `Anomalies: ${anomalies.length}`);
  if (anomalies.length > 0) out.push(table(anomalyRows));
  return out.join('\n');
}

export interface SoakSample {
  readonly minute: number;
  readonly rssMb: number;
  /** /health/live answered in this long (p99 and max of one probe a second): the event loop's lag, seen from outside. */
  readonly liveP99Ms: number;
  readonly liveMaxMs: number;
  /** p99 of the minute's answered requests. */
  readonly requestP99Ms: number;
  readonly requests: number;
  readonly databaseMb: number;
}

/** Least-squares slope of y over x. */
export function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const num = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const den = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

const r2 = (x: number): number => Math.round(x * 100) / 100;

export function soakSlopes(samples: readonly SoakSample[]): Record<string, number> {
  // The first minute is the warm-up (JIT, caches, pools filling): the slopes start after it.
  const steady = samples.length > 3 ? samples.slice(1) : samples;
  const of = (f: (s: SoakSample) => number) => r2(slope(steady.map((s) => [s.minute, f(s)])));
  return {
    rssMbPerMin: of((s) => s.rssMb),
    liveP99MsPerMin: of((s) => s.liveP99Ms),
    requestP99MsPerMin: of((s) => s.requestP99Ms),
    databaseMbPerMin: of((s) => s.databaseMb),
  };
}

export function soakReport(samples: readonly SoakSample[]): string {
  const rows: (string | number)[][] = [
    ['minute', 'RSS MB', '/health/live p99 ms', 'max ms', 'request p99 ms', 'requests', 'database MB'],
  ];
  for (const s of samples) {
    rows.push([
      s.minute,
      r2(s.rssMb),
      r2(s.liveP99Ms),
      r2(s.liveMaxMs),
      r2(s.requestP99Ms),
      s.requests,
      r2(s.databaseMb),
    ]);
  }
  const slopes = soakSlopes(samples);
  return [
    'Soak samples (one a minute)',
    table(rows),
    `Slopes per minute (least squares, from minute 2): RSS ${slopes.rssMbPerMin} MB, /health/live p99 ${slopes.liveP99MsPerMin} ms, request p99 ${slopes.requestP99MsPerMin} ms, database ${slopes.databaseMbPerMin} MB`,
  ].join('\n');
}
