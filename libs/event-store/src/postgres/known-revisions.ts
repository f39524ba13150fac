/**
 * Stream revisions (with the newest event's hash, which the next event chains to) this
 * process saw committed, so that an append does not read them again.
 * Only a hint: the unique (stream, revision) index rejects a write based on a revision that
 * another process moved, and the batch is retried reading them all. Bounded: the least
 * recently used streams go first.
 */

/** Streams whose revision an event store instance remembers (about 100 bytes each). */
export const MAX_KNOWN_REVISIONS = 100_000;

export interface KnownRevision {
  readonly revision: number;
  /** The newest event's hash (hex), null when it has none. */
  readonly hash: string | null;
}

export class KnownRevisions {
  /** The Map's order is least recently used first. */
  private readonly revisions = new Map<string, KnownRevision>();

  constructor(private readonly max = MAX_KNOWN_REVISIONS) {}

  get(streamId: string): KnownRevision | undefined {
    return this.revisions.get(streamId);
  }

  remember(streamId: string, revision: number, hash: string | null): void {
    if (revision < 0) return;
    this.revisions.delete(streamId); // re-insert: now the most recently used
    this.revisions.set(streamId, { revision, hash });
    if (this.revisions.size > this.max) {
      this.revisions.delete(this.revisions.keys().next().value!);
    }
  }

  /** Forgets everything: the server may have changed (failover, restore). */
  clear(): void {
    this.revisions.clear();
  }
}
