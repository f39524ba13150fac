/**
 * `herald proof <event id | checkpoint>`: prints one event's inclusion proof as JSON (the
 * Merkle path from it to a seal), for examples/verify-proof/ to check offline.
 */
import type { Command } from 'commander';
import { EventNotFound, InvalidArgument, NotSealedYet, TamperEvidence } from '@herald/event-store';
import { CliError, EXIT } from '../cli-error.js';
import { withDatabase } from '../database.js';

export function registerProof(program: Command): void {
  program
    .command('proof')
    .description(
      "Prints an event's inclusion proof (JSON) for an offline check with examples/verify-proof/. " +
        'Exit code 1 when the event is missing or not sealed yet; 2: usage.',
    )
    .argument('<event>', 'the event id (UUID) or checkpoint')
    .action(async (ref: string) => {
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
