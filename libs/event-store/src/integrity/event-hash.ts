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
import { hash, randomBytes } from 'node:crypto';

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

/** SHA-256 of a string's UTF-8 bytes, in hex (the one-shot hash: half the cost of createHash on short input). */
export const sha256Hex = (text: string): string => hash('sha256', text, 'hex');

/** The digest a personal value enters the hash as: SHA-256 of its salt (32 hex digits) followed by its JSON text. */
export function personalDigest(saltHex: string, value: unknown): string {
  return sha256Hex(saltHex + JSON.stringify(value));
}

/** Thrown when stored content cannot be what a writer hashed (e.g. an erased value that is not null). */
export class IntegrityMismatch extends Error {}

/**
 * The content hash of an event as stored (throws IntegrityMismatch for impossible content).
 * `parsed`: the data as an object when the caller has it (a writer), to spare parsing its
 * text; it is not modified.
 */
export function contentHash(event: EventContent, parsed?: unknown): string {
  const pointers = event.personal ? Object.keys(event.personal) : [];
  if (pointers.length > 1) pointers.sort();
  let data = event.data;
  if (pointers.length > 0) {
    parsed = parsed === undefined ? (JSON.parse(event.data) as unknown) : copyAlong(parsed, pointers);
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
    for (const pointer of expand(data, compiled(path), 0, '')) {
      found ??= {};
      found[pointer] = salt();
    }
  }
  return found;
}

/** One step of a catalogue path: a key (or none), then array levels (`[]` every item, `[2]` one). */
interface Step {
  readonly key: string | undefined;
  readonly escaped: string;
  readonly arrays: readonly (number | undefined)[];
}

/** Paths compiled once: appends run this for every event. */
const compiledPaths = new Map<string, readonly Step[] | null>();
function compiled(path: string): readonly Step[] | null {
  let steps = compiledPaths.get(path);
  if (steps === undefined) {
    const parsed = path.split('.').map((segment) => /^([^[\]]*)((?:\[\d*\])*)$/.exec(segment));
    steps = parsed.some((m) => m === null)
      ? null
      : parsed.map((m) => ({
          key: m![1] || undefined,
          escaped: escape(m![1] ?? ''),
          arrays: [...m![2]!.matchAll(/\[(\d*)\]/g)].map(([, i]) => (i === '' ? undefined : Number(i))),
        }));
    if (compiledPaths.size < 10_000) compiledPaths.set(path, steps);
  }
  return steps;
}

/** Concrete pointers of a compiled path: `a[].b` is `/a/0/b`, `/a/1/b`, ... for values present. */
function expand(value: unknown, steps: readonly Step[] | null, at: number, pointer: string): string[] {
  if (steps === null) return [];
  if (at === steps.length) return value === undefined ? [] : [pointer];
  const step = steps[at]!;
  let node = value;
  let p = pointer;
  if (step.key !== undefined) {
    if (!isObject(node) || !Object.hasOwn(node, step.key)) return [];
    node = node[step.key];
    p = `${p}/${step.escaped}`;
  }
  return expandArrays(node, steps, at, step.arrays, 0, p);
}

function expandArrays(
  node: unknown,
  steps: readonly Step[],
  at: number,
  arrays: readonly (number | undefined)[],
  level: number,
  pointer: string,
): string[] {
  if (level === arrays.length) return expand(node, steps, at + 1, pointer);
  if (!Array.isArray(node)) return [];
  const index = arrays[level];
  if (index !== undefined) {
    return index < node.length ? expandArrays(node[index], steps, at, arrays, level + 1, `${pointer}/${index}`) : [];
  }
  const found: string[] = [];
  for (let i = 0; i < node.length; i++) {
    found.push(...expandArrays(node[i], steps, at, arrays, level + 1, `${pointer}/${i}`));
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

/** A copy of `value` in which the containers on the pointers' paths are new (the rest shared). */
function copyAlong(value: unknown, pointers: readonly string[]): unknown {
  const root = shallow(value);
  for (const pointer of pointers) {
    const keys = keysOf(pointer);
    let node = root;
    for (const key of keys.slice(0, -1)) {
      if (!isObject(node)) break;
      node[key] = shallow(node[key]);
      node = node[key];
    }
  }
  return root;
}

const shallow = (v: unknown): unknown => (Array.isArray(v) ? [...(v as unknown[])] : isObject(v) ? { ...v } : v);

const escape = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** A pointer's keys, decoded once per distinct pointer (there are few: `/text`, `/attachments/0/url`, …). */
const pointerKeys = new Map<string, readonly string[]>();
function keysOf(pointer: string): readonly string[] {
  let keys = pointerKeys.get(pointer);
  if (!keys) {
    keys = pointer
      .split('/')
      .slice(1)
      .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    if (pointerKeys.size < 10_000) pointerKeys.set(pointer, keys);
  }
  return keys;
}

/** The object or array holding the value a pointer names, and its key there. */
function locate(root: unknown, pointer: string): { parent: Record<string, unknown>; key: string } {
  const keys = keysOf(pointer);
  let node = root;
  for (const key of keys.slice(0, -1)) {
    if (!isObject(node)) throw new IntegrityMismatch(`personal value ${pointer} is missing`);
    node = node[key];
  }
  if (!isObject(node) || keys.length === 0) throw new IntegrityMismatch(`personal value ${pointer} is missing`);
  return { parent: node, key: keys[keys.length - 1]! };
}
