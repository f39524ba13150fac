/**
 * `herald proof <event id | checkpoint>`: prints one event's inclusion proof as JSON (the
 * Merkle path from it to a seal), for examples/verify-proof/ to check offline.
 */
import type { Command } from 'commander';
import { EventNotFound, InvalidArgument, NotSealedYet, TamperEvidence } from '@herald/event-store';
import { CliError, EXIT } from '../cli-error.js';
import { loadConfig, withDatabase } from '../database.js';
import { NO_SEALS_ON_EVENTSTOREDB } from './verify.js';

export function registerProof(program: Command): void {
  program
    .command('proof')
    .description(
      "Prints an event's inclusion proof (JSON) for an offline check with examples/verify-proof/. " +
        'Exit code 1 when the event is missing or not sealed yet; 2: usage, or events in EventStoreDB (no seals).',
    )
    .argument('<event>', 'the event id (UUID) or checkpoint')
    .action(async (ref: string) => {
      // A proof is a path to a seal: none exist on EventStoreDB.
      if (loadConfig().eventStore.kind === 'eventstoredb') throw new CliError(NO_SEALS_ON_EVENTSTOREDB, EXIT.usage);
      await withDatabase(
        async (database) => {
          const evidence = new TamperEvidence({ connectionString: database.url });
          try {
            const proof = await evidence.inclusionProof(ref);
            process.stdout.write(`${JSON.stringify(proof, null, 2)}\n`);
          } catch (error) {
            if (error instanceof InvalidArgument) throw new CliError(error.message, EXIT.usage);
            if (error instanceof EventNotFound || error instanceof NotSealedYet) throw new CliError(error.message);
            throw error;
          } finally {
            await evidence.close();
          }
        },
        (line) => process.stderr.write(`${line}\n`),
      );
    });
}
