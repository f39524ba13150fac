/**
 * Password hashing: argon2id with OWASP's minimum (19 MiB, 2 passes, 1 lane). Hashes are
 * PHC strings, so stronger settings later still verify old hashes.
 */
import { hash, verify } from '@node-rs/argon2';

// Algorithm.Argon2id (a const enum, which isolated modules cannot read).
const ARGON2ID = 2;

export const PASSWORD_MIN = 8;
/** argon2 reads all of it: a cap keeps one sign-in from costing much more than another. */
export const PASSWORD_MAX = 256;

const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (password: string): Promise<string> => hash(password, OPTIONS);

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

/** A hash no password matches, verified against for unknown users so they take as long. */
let decoy: Promise<string> | undefined;
export const decoyHash = (): Promise<string> => (decoy ??= hash('decoy password for unknown users', OPTIONS));
