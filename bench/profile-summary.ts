/**
 * Summarizes a V8 CPU profile of the server (`BENCH_SERVER_NODE_ARGS='--cpu-prof
 * --cpu-prof-dir=/tmp/prof' npm run bench:chat:small`) as docs/profiles/send-path.md
 * shows it: the load window only (from the first to the last sample inside the event
 * store's batch write), time by stage and top self time.
 *
 * A sample's stage is that of the nearest frame from the leaf that belongs to a known
 * part (pg, ws, fastify, the event store, projections, push…), skipping Node's own
 * frames; a socket write (`writev`, `writeBuffer`…) is charged to the part that wrote.
 * GC and `(program)` are their own stages.
 *
 * `node dist/bench/profile-summary.js <file.cpuprofile> [sends per second]`: with the
 * rate, each stage is also given in microseconds per send.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const STAGES: readonly (readonly [RegExp, string])[] = [
  [/node_modules\/(pg|pg-protocol|pg-pool|pg-types|postgres-array)\//, 'pg client (protocol, rows)'],
  [/node_modules\/typeorm\//, 'typeorm'],
  [/node_modules\/ws\//, 'ws (frames)'],
  [
    /node_modules\/(fastify|find-my-way|@fastify|avvio|fast-json-stringify|secure-json-parse|fast-querystring)/,
    'HTTP: fastify',
  ],
  [/node_modules\/@nestjs\/|node_modules\/rxjs\//, 'HTTP: Nest'],
  [/node_modules\/jose\//, 'auth: JWT (jose)'],
  [/node_modules\/zod\//, 'validation (zod)'],
  [/node_modules\/(@opentelemetry|prom-client)\//, 'metrics, tracing'],
  [/libs\/event-store\//, 'event store (append, log tail)'],
  [/libs\/projection-runtime\/|\/projections\//, 'projections (apply)'],
  [/libs\/notifications\//, 'notifications'],
  [/apps\/api\/src\/push\/|apps\/api\/src\/live-events/, 'push (fan-out, frames)'],
  [/libs\/(commands|conversations)\/|\/events\//, 'command (decide, events)'],
  [/libs\/identity\/|apps\/api\/src\/auth\//, 'auth (identity)'],
  [/libs\/nest\/|apps\/api\/src\//, 'HTTP: Herald edge'],
  [/libs\/(database|observability|config)\//, 'database, observability'],
];
const SOCKET_WRITE = /^(writev|writeBuffer|writeUtf8String|writeLatin1String|writeAsciiString)$/;

function summarize(profile: Profile, sendsPerSecond: number): string[] {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const frame = (id: number): CallFrame => nodes.get(id)!.callFrame;
  const ancestors = function* (id: number): Generator<number> {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) yield at;
  };

  // The load window: samples from the first to the last inside the batch write.
  const times: number[] = [];
  let t = profile.startTime;
  for (const delta of profile.timeDeltas) times.push((t += delta));
  let first = Infinity;
  let last = -Infinity;
  profile.samples.forEach((id, i) => {
    for (const at of ancestors(id)) {
      if (frame(at).functionName === 'writeOnce') {
        first = Math.min(first, times[i]!);
        last = Math.max(last, times[i]!);
        break;
      }
    }
  });
  const stageOf = (id: number): string => {
    const leaf = frame(id).functionName;
    if (leaf === '(garbage collector)') return 'GC';
    if (leaf === '(program)') return 'V8, native (unattributed)';
    for (const at of ancestors(id)) {
      const { url, functionName } = frame(at);
      if (url === '' || url.startsWith('node:')) continue;
      const stage = STAGES.find(([pattern]) => pattern.test(`${functionName} ${url}`))?.[1];
      if (stage) return SOCKET_WRITE.test(leaf) ? `socket writes of: ${stage}` : stage;
    }
    return SOCKET_WRITE.test(leaf) ? 'socket writes of: ?' : 'Node, builtins';
  };

  const byStage = new Map<string, number>();
  const self = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    if (times[i]! < first || times[i]! > last || frame(id).functionName === '(idle)') return;
    const delta = profile.timeDeltas[i] ?? 0;
    busy += delta;
    const stage = stageOf(id);
    byStage.set(stage, (byStage.get(stage) ?? 0) + delta);
    const { functionName, url, lineNumber } = frame(id);
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + delta);
  });
  const seconds = (last - first) / 1e6;
  const sends = sendsPerSecond * seconds;
  const lines = [
    `load window ${seconds.toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s (${((busy / 1e6 / seconds) * 100).toFixed(0)}% of a core)`,
    '',
    `| stage | % of busy |${sends ? ' µs per send |' : ''}`,
    `|---|---:|${sends ? '---:|' : ''}`,
  ];
  for (const [stage, time] of [...byStage].sort((a, b) => b[1] - a[1])) {
    lines.push(`| ${stage} | ${((time / busy) * 100).toFixed(1)} |${sends ? ` ${Math.round(time / sends)} |` : ''}`);
  }
  lines.push('', '| top self time | % of busy |', '|---|---:|');
  for (const [key, time] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
    lines.push(`| \`${key}\` | ${((time / busy) * 100).toFixed(1)} |`);
  }
  return lines;
}

const [file, rate] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary <file.cpuprofile> [sends per second]');
console.log(summarize(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(rate ?? 0)).join('\n'));
