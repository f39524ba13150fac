/**
 * `npm run chaos`: the chat workload against Herald while a nemesis injects faults, then a
 * check of the history and the final state (bench/chaos/run.ts). Flags: `--minutes N`
 * (2), `--seed S` (1), `--soak N` (N minutes at a steady load, no faults, sampled each
 * minute), `--users N` (8), `--no-kafka`, `--keep` (keep the data directory). Prints the
 * report as tables, then one JSON line `{ operations, faultsInjected, anomalies, maxRecoveryMs }`;
 * exits 1 when anomalies were found.
 */
import { parseArgs } from 'node:util';
import { runChaos } from './run.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '2' },
    soak: { type: 'string' },
    seed: { type: 'string', default: '1' },
    users: { type: 'string', default: '8' },
    'no-kafka': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});

const soak = values.soak !== undefined;
const result = await runChaos({
  seed: Number(values.seed),
  minutes: Number(soak ? values.soak : values.minutes),
  soak,
  users: Number(values.users),
  kafka: !values['no-kafka'],
  keep: values.keep,
});
console.log('\n' + result.report);
console.log(JSON.stringify({ ...result.summary, ...(result.slopes ? { slopes: result.slopes } : {}) }));
process.exitCode = result.anomalies.length > 0 ? 1 : 0;
