/**
 * The short form of `npm run chaos`, in CI: two minutes of the chat workload against the
 * built Herald in its own process (dist/, which `npm test` builds first) while the nemesis
 * injects every kind of fault, with a fixed seed; the checker must find nothing.
 */
import { kafkaMockUnavailable } from '@herald/kafka-mock';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FAULT_KINDS } from './history.js';
import { heraldMain, runChaos } from './run.js';

const missing = existsSync(heraldMain()) ? undefined : `${heraldMain()} is missing (npm run build)`;
if (missing) console.warn(`skipped: the chaos run needs the built app: ${missing}`);
const noKafka = kafkaMockUnavailable();
if (noKafka) console.warn(`the chaos run goes without the Kafka relay (no kafka-freeze fault): ${noKafka}`);

describe.skipIf(missing !== undefined)('npm run chaos, short form (2 minutes, seed 1)', () => {
  it('injects every kind of fault and finds no anomaly', { timeout: 900_000 }, async () => {
    const lines: string[] = [];
    const result = await runChaos({ seed: 1, minutes: 2, log: (line) => lines.push(line) });
    console.log([...lines, result.report, JSON.stringify(result.summary)].join('\n'));
    expect(result.anomalies).toEqual([]);
    for (const kind of FAULT_KINDS) {
      if (kind === 'kafka-freeze' && !result.kafka) continue;
      expect(result.injected[kind], kind).toBeGreaterThan(0);
    }
    expect(result.summary.operations).toBeGreaterThan(500);
  });
});
