/** What every benchmark shares: its database, the machine line, each run and the medians. */
import { startEmbeddedPostgres } from '@herald/database';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';

export const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
export const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
export const round = (n: number, digits = 0): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** A seeded generator (mulberry32): the same seed draws the same values, every go the same pattern. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * A loopback port nothing listens on, from the kernel: a port picked at random can be one a
 * client socket of an earlier run still holds (TIME_WAIT), and the server then fails to listen.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Prints a table of the runs with their medians, and returns the medians. */
export function report<F extends { [K in keyof F]: number }>(runs: readonly F[]): F {
  const keys = Object.keys(runs[0]!) as (keyof F & string)[];
  const medians = Object.fromEntries(keys.map((k) => [k, median(runs.map((r) => r[k] as number))])) as F;
  const width = Math.max(...keys.map((k) => k.length));
  console.log(
    `${'figure'.padEnd(width)}  ${runs.map((_, i) => `run ${i + 1}`.padStart(10)).join('  ')}  ${'median'.padStart(10)}`,
  );
  for (const k of keys) {
    console.log(
      `${k.padEnd(width)}  ${runs.map((r) => String(r[k]).padStart(10)).join('  ')}  ${String(medians[k]).padStart(10)}`,
    );
  }
  return medians;
}

/** The PostgreSQL a benchmark runs on: DATABASE_URL, or a throwaway embedded one. */
export async function benchDatabase(
  databaseUrl: string | undefined,
): Promise<{ url: string; embedded: boolean; stop: () => Promise<void> }> {
  if (databaseUrl) return { url: databaseUrl, embedded: false, stop: () => Promise.resolve() };
  const dir = await mkdtemp(join(tmpdir(), 'herald-bench-'));
  const server = await startEmbeddedPostgres({ dataDir: dir, persistent: false });
  return {
    url: server.url,
    embedded: true,
    stop: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The machine line every benchmark prints first. */
export const machine = (): string =>
  `machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${round(totalmem() / 2 ** 30)} GiB, node ${process.version}`;

/** `work` over `items`, at most `concurrency` at once; the results in the items' order. */
export async function inBatches<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]!);
      }
    }),
  );
  return results;
}
