/**
 * Tamper evidence on the PostgreSQL log, as a service (ADR 030): `herald verify`, inclusion
 * proofs (the audit API's `GET /audit/events/:checkpoint/proof`) and the newest digest.
 * Reads only; the sealer (sealer.ts) writes the seals.
 */
import type pg from 'pg';
import { createPool, type DatabaseTimeouts } from '@herald/database';
import { formatDigest } from '../../integrity/merkle.js';
import { inclusionProof, type InclusionProof } from './proof.js';
import { latestSeal } from './seals.js';
import type { VerifyOptions, VerifyReport } from '../../integrity/verify-chain.js';
import { verifyLog } from './verify.js';

export class TamperEvidence {
  private readonly pool: pg.Pool;
  private readonly connectionString: string;

  constructor(options: { readonly connectionString: string; readonly timeouts?: DatabaseTimeouts }) {
    this.connectionString = options.connectionString;
    // Two connections: a verify's pass and a proof may run together.
    this.pool = createPool({
      connectionString: options.connectionString,
      max: 2,
      applicationName: 'herald-tamper-evidence',
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
    });
  }

  /** Checks chains and seals (see verify.ts; the whole log in worker threads of its own); the first broken link, if any, is in the report. */
  verify(options?: VerifyOptions): Promise<VerifyReport> {
    return verifyLog(this.pool, this.connectionString, options);
  }

  /** The Merkle path from one event (its id or checkpoint) to a seal; NotSealedYet, EventNotFound or InvalidArgument otherwise. */
  inclusionProof(eventIdOrCheckpoint: string): Promise<InclusionProof> {
    return inclusionProof(this.pool, eventIdOrCheckpoint);
  }

  /** The newest seal's digest, to keep outside Herald; undefined before the first seal. */
  async latestDigest(): Promise<{ digest: string; sealedAt: Date; lastCheckpoint: string } | undefined> {
    const seal = await latestSeal(this.pool);
    return seal && { digest: formatDigest(seal), sealedAt: seal.sealedAt, lastCheckpoint: seal.lastCheckpoint };
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
