/**
 * A checkpoint is an opaque, sortable position in the global event log. Callers compare
 * checkpoints only with `compareCheckpoints` (or as plain strings: the encoding sorts
 * lexicographically) and never read a number out of them.
 *
 * Encoding: two unsigned 64-bit numbers as fixed-width hex, `hhhhhhhhhhhhhhhh-hhhhhhhhhhhhhhhh`.
 * PostgreSQL uses (writing transaction id, insert sequence); EventStoreDB uses
 * (commit position, prepare position). Both order the log the way subscribers see it.
 */
export type Checkpoint = string & { readonly __brand: 'Checkpoint' };

const PATTERN = /^[0-9a-f]{16}-[0-9a-f]{16}$/;
const MAX_U64 = (1n << 64n) - 1n;

export const START: Checkpoint = encodeCheckpoint(0n, 0n);

export function encodeCheckpoint(major: bigint, minor: bigint): Checkpoint {
  if (major < 0n || minor < 0n || major > MAX_U64 || minor > MAX_U64) {
    throw new RangeError('checkpoint parts must be unsigned 64-bit integers');
  }
  return `${major.toString(16).padStart(16, '0')}-${minor.toString(16).padStart(16, '0')}` as Checkpoint;
}

/** For adapters only: the two numbers behind a checkpoint. */
export function decodeCheckpoint(checkpoint: Checkpoint): readonly [bigint, bigint] {
  const [major, minor] = checkpoint.split('-');
  return [BigInt(`0x${major}`), BigInt(`0x${minor}`)];
}

export function isCheckpoint(value: unknown): value is Checkpoint {
  return typeof value === 'string' && PATTERN.test(value);
}

/**
 * A checkpoint a store can hold: well formed, and its second half within a signed 64-bit
 * integer (PostgreSQL bigint). Untrusted input is checked with this before it reaches a
 * query, so a checkpoint past every stored one is refused (400), never a database error.
 */
export function isCheckpointInRange(value: unknown): value is Checkpoint {
  return isCheckpoint(value) && value.charAt(17) <= '7';
}

/** Validates untrusted input (a query parameter, a stored value) as a checkpoint. */
export function parseCheckpoint(value: string): Checkpoint {
  if (!isCheckpoint(value)) throw new RangeError(`not a checkpoint: ${JSON.stringify(value.slice(0, 64))}`);
  return value;
}

export const compareCheckpoints = (a: Checkpoint, b: Checkpoint): number => (a < b ? -1 : a > b ? 1 : 0);

export const maxCheckpoint = (a: Checkpoint, b: Checkpoint): Checkpoint => (a >= b ? a : b);
