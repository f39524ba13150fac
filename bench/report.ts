/** What every benchmark shares: its database, the machine line, each run and the medians. */
import { startEmbeddedPostgres } from '@herald/database';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';

export const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
export const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
export const round = (n: number, digits = 0): number => Math.round(n * 10 ** digits) / 10 ** digits;

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
