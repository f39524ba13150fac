/**
 * A real Kafka-protocol broker for tests and benchmarks: librdkafka's mock cluster, started by Debian's
 * `kcat` (3 brokers on loopback; topics are created on first use with 4 partitions). Its
 * limits: it names controller 0, which is no broker, so kafkajs cannot create topics or run
 * an idempotent producer against it; tests turn both off (acks=all with one request in
 * flight keeps per-partition order all the same).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export interface KafkaMock {
  readonly brokers: string[];
  /** Freezes the brokers (SIGSTOP): connections stay open, nothing answers. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/** Why Kafka tests cannot run here, or undefined when they can. */
export function kafkaMockUnavailable(): string | undefined {
  const probe = spawnSync('kcat', ['-V'], { encoding: 'utf8' });
  return probe.error ? 'kcat is not installed (apt-get install -y kcat)' : undefined;
}

export const MOCK_CLUSTER_NOTE =
  'against librdkafka mock cluster: idempotent producer and explicit topic creation off (unsupported by the mock)';

export async function startKafkaMock(): Promise<KafkaMock> {
  const child = spawn(
    'kcat',
    ['-C', '-t', 'herald-mock-warmup', '-X', 'test.mock.num.brokers=3', '-X', 'debug=mock', '-b', 'ignored', '-q'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const brokers = await new Promise<string[]>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`kcat mock cluster did not start: ${seen.slice(-500)}`)), 10_000);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      seen += chunk;
      const match = /bootstrap\.servers=([0-9.:,]+)/.exec(seen);
      if (match?.[1]) {
        clearTimeout(timer);
        // Keep draining its debug output so it never blocks on a full pipe.
        seen = '';
        resolve(match[1].split(','));
      } else if (seen.length > 100_000) {
        seen = seen.slice(-1000);
      }
    });
    child.once('exit', (code) => reject(new Error(`kcat exited with ${code}: ${seen.slice(-500)}`)));
  });
  child.stderr.removeAllListeners('data');
  child.stderr.resume();
  return {
    brokers,
    pause: () => signal(child, 'SIGSTOP'),
    resume: () => signal(child, 'SIGCONT'),
    stop: async () => {
      signal(child, 'SIGCONT');
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      signal(child, 'SIGKILL');
      await exited;
    },
  };
}

function signal(child: ChildProcess, name: NodeJS.Signals): void {
  if (child.exitCode === null) child.kill(name);
}
