/**
 * The hash chain's arithmetic (ADR 030): what an event's hash commits to, and how personal
 * fields enter it as salted digests so that erasing one later keeps the chain verifiable.
 * No I/O: the PostgreSQL adapter computes these when it writes, `herald verify` when it
 * checks, and examples/verify-proof/ repeats them without importing Herald.
 *
 * An event's hash is two SHA-256 steps:
 * - content = SHA-256 of `["herald-content-v1",eventId,type,schemaVersion,DATA,METADATA,POINTERS]`
 *   where DATA is the stored JSON text of the data with each personal value replaced by its
 *   digest (re-serialized as JSON.stringify does: key order as stored, no whitespace),
 *   METADATA the stored JSON text of the metadata, POINTERS the sorted JSON Pointers of the
 *   personal values;
 * - hash = SHA-256 of `["herald-event-v1",streamId,streamRevision,CONTENT_HEX,PREVIOUS_HEX|null]`.
 * The first step needs no stream state, so writers compute it before they take the stream's
 * lock; only the second, a few dozen bytes, is computed under it.
 */
import { createHash, randomBytes } from 'node:crypto';

/**
 * How each personal value of an event entered its hash, by JSON Pointer (RFC 6901): the
 * salt (hex) of its digest, or, once erased, the digest itself (the value is then null).
 */
export type PersonalSalts = Record<string, string | { readonly erased: string }>;

/** What an event's content hash covers, as stored. */
export interface EventContent {
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  /** The data's JSON text as stored. */
  readonly data: string;
  /** The metadata's JSON text as stored. */
  readonly metadata: string;
  readonly personal: PersonalSalts | null;
}

export const sha256Hex = (text: string | Buffer): string => createHash('sha256').update(text).digest('hex');

/** The digest a personal value enters the hash as: SHA-256 of its salt's bytes, then its JSON text. */
export function personalDigest(saltHex: string, value: unknown): string {
  return createHash('sha256').update(Buffer.from(saltHex, 'hex')).update(JSON.stringify(value)).digest('hex');
}

/** Thrown when stored content cannot be what a writer hashed (e.g. an erased value that is not null). */
export class IntegrityMismatch extends Error {}

/** The content hash of an event as stored (throws IntegrityMismatch for impossible content). */
export function contentHash(event: EventContent): string {
  const pointers = event.personal ? Object.keys(event.personal).sort() : [];
  let data = event.data;
  if (pointers.length > 0) {
    const parsed = JSON.parse(event.data) as unknown;
    for (const pointer of pointers) {
      const entry = event.personal![pointer]!;
      const { parent, key } = locate(parsed, pointer);
      const value = parent[key];
      if (typeof entry === 'string') {
        if (value === undefined) throw new IntegrityMismatch(`personal value ${pointer} is missing`);
        parent[key] = personalDigest(entry, value);
      } else {
        // Erased: only the erasure itself (the value set to null) may have changed.
        if (value !== null) throw new IntegrityMismatch(`erased personal value ${pointer} is not null`);
        parent[key] = entry.erased;
      }
    }
    data = JSON.stringify(parsed);
  }
  return sha256Hex(
    `["herald-content-v1","${event.eventId}",${JSON.stringify(event.type)},${event.schemaVersion},${data},${event.metadata},${JSON.stringify(pointers)}]`,
  );
}

/** An event's hash: its place in its stream, its content hash and its predecessor's hash. */
export function eventHash(streamId: string, revision: number, content: string, previous: string | null): string {
  return sha256Hex(
    `["herald-event-v1",${JSON.stringify(streamId)},${revision},"${content}",${previous === null ? 'null' : `"${previous}"`}]`,
  );
}

/**
 * The personal values of `data` found by the catalogue's field paths (`text`,
 * `attachments[].url`), as JSON Pointers, each with a fresh salt.
 */
export function saltPersonalFields(data: unknown, paths: readonly string[], salt = newSalt): PersonalSalts | null {
  let found: PersonalSalts | null = null;
  for (const path of paths) {
    for (const pointer of expand(data, path.split('.'), '')) {
      found ??= {};
      found[pointer] = salt();
    }
  }
  return found;
}

/**
 * Salts come from a pool refilled 4 KiB at a time: one randomBytes call per event would
 * cost more than the hash itself.
 */
let pool = Buffer.alloc(0);
let poolAt = 0;
function newSalt(): string {
  if (poolAt + 16 > pool.length) {
    pool = randomBytes(4096);
    poolAt = 0;
  }
  poolAt += 16;
  return pool.toString('hex', poolAt - 16, poolAt);
}

/** Concrete pointers of one catalogue path: `a[].b` is `/a/0/b`, `/a/1/b`, ... for values present. */
function expand(value: unknown, segments: readonly string[], at: string): string[] {
  if (segments.length === 0) return value === undefined ? [] : [at];
  const match = /^([^[\]]*)((?:\[\d*\])*)$/.exec(segments[0]!);
  if (!match) return [];
  let nodes: [unknown, string][] = [[value, at]];
  if (match[1]) {
    nodes = nodes.flatMap(([node, p]) =>
      isObject(node) && Object.hasOwn(node, match[1]!) ? [[node[match[1]!], `${p}/${escape(match[1]!)}`]] : [],
    );
  }
  for (const [, index] of match[2]!.matchAll(/\[(\d*)\]/g)) {
    nodes = nodes.flatMap(([node, p]): [unknown, string][] => {
      if (!Array.isArray(node)) return [];
      if (index !== '') return Number(index) < node.length ? [[node[Number(index)], `${p}/${index}`]] : [];
      return node.map((item, i): [unknown, string] => [item, `${p}/${i}`]);
    });
  }
  return nodes.flatMap(([node, p]) => expand(node, segments.slice(1), p));
}

const escape = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** The object or array holding the value a pointer names, and its key there. */
function locate(root: unknown, pointer: string): { parent: Record<string, unknown>; key: string } {
  const keys = pointer
    .split('/')
    .slice(1)
    .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node = root;
  for (const key of keys.slice(0, -1)) {
    if (!isObject(node)) throw new IntegrityMismatch(`personal value ${pointer} is missing`);
    node = node[key];
  }
  if (!isObject(node) || keys.length === 0) throw new IntegrityMismatch(`personal value ${pointer} is missing`);
  return { parent: node, key: keys[keys.length - 1]! };
}
