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

/**
 * The content hash computed on the data's JSON text itself, each personal value's text
 * replaced in place by its digest, without parsing and re-serializing the data (the cost
 * of writing and verifying). Equal to `contentHash` whenever the data text is what
 * `JSON.stringify` writes, as the store holds it; undefined when a personal value cannot be
 * found in the text that way (escaped keys, whitespace, an erased value that is not null):
 * the caller then uses `contentHash`, which decides. A verifier may accept an event whose
 * stored hash this reproduces (the writer hashed exactly this text), and must ask
 * `contentHash` about any other.
 * `valueText(pointer, text)`: a writer's check that a value's text is what it salted
 * (false: undefined is returned).
 */
export function contentHashOfText(
  event: EventContent,
  valueText?: (pointer: string, text: string) => boolean,
): string | undefined {
  const personal = event.personal;
  let data = event.data;
  let pointersJson = '[]';
  if (personal !== null) {
    const pointers = Object.keys(personal);
    if (pointers.length > 1) pointers.sort();
    pointersJson = JSON.stringify(pointers);
    if (pointers.length > 0) {
      const spans: [number, number, string][] = [];
      for (const pointer of pointers) {
        const span = valueSpan(data, keysOf(pointer));
        if (span === undefined) return undefined;
        const text = data.slice(span[0], span[1]);
        const entry = personal[pointer]!;
        let digest: string;
        if (typeof entry === 'string') {
          if (valueText && !valueText(pointer, text)) return undefined;
          digest = sha256Hex(entry + text);
        } else {
          if (text !== 'null' || typeof entry !== 'object' || entry === null || typeof entry.erased !== 'string') {
            return undefined;
          }
          digest = entry.erased;
        }
        spans.push([span[0], span[1], digest]);
      }
      if (spans.length > 1) spans.sort((a, b) => a[0] - b[0]);
      let spliced = '';
      let at = 0;
      for (const [start, end, digest] of spans) {
        if (start < at) return undefined;
        spliced += `${data.slice(at, start)}"${digest}"`;
        at = end;
      }
      data = spliced + data.slice(at);
    }
  }
  return sha256Hex(
    `["herald-content-v1","${event.eventId}",${JSON.stringify(event.type)},${event.schemaVersion},${data},${event.metadata},${pointersJson}]`,
  );
}

/**
 * Where the value a pointer's keys name lies in compact JSON text (no whitespace, keys
 * without escapes): [start, end), or undefined when it is not found that way.
 */
function valueSpan(text: string, keys: readonly string[]): [number, number] | undefined {
  if (keys.length === 0) return undefined;
  let at = 0;
  for (const key of keys) {
    const open = text.charCodeAt(at);
    if (open === 0x7b /* { */) {
      at++;
      if (text.charCodeAt(at) === 0x7d /* } */) return undefined;
      for (;;) {
        if (text.charCodeAt(at) !== 0x22 /* " */) return undefined;
        const close = stringEnd(text, at);
        if (close < 0) return undefined;
        // A key with escapes never matches here: contentHash decides for it.
        const matches = close - at - 1 === key.length && text.startsWith(key, at + 1);
        if (text.charCodeAt(close + 1) !== 0x3a /* : */) return undefined;
        at = close + 2;
        if (matches) break;
        at = valueEnd(text, at);
        if (at < 0) return undefined;
        const next = text.charCodeAt(at);
        if (next !== 0x2c /* , */) return undefined;
        at++;
      }
    } else if (open === 0x5b /* [ */) {
      if (!/^(?:0|[1-9]\d*)$/.test(key)) return undefined;
      let index = Number(key);
      at++;
      if (text.charCodeAt(at) === 0x5d /* ] */) return undefined;
      while (index > 0) {
        at = valueEnd(text, at);
        if (at < 0 || text.charCodeAt(at) !== 0x2c) return undefined;
        at++;
        index--;
      }
    } else return undefined;
  }
  const end = valueEnd(text, at);
  return end < 0 ? undefined : [at, end];
}

/** The index of the quote closing the string opening at `at`, or -1. */
function stringEnd(text: string, at: number): number {
  let i = at + 1;
  for (;;) {
    const q = text.indexOf('"', i);
    if (q < 0) return -1;
    let slashes = 0;
    for (let j = q - 1; text.charCodeAt(j) === 0x5c /* \ */; j--) slashes++;
    if (slashes % 2 === 0) return q;
    i = q + 1;
  }
}

/** The index just after the JSON value starting at `at` (compact text), or -1. */
function valueEnd(text: string, at: number): number {
  const c = text.charCodeAt(at);
  if (c === 0x22) {
    const q = stringEnd(text, at);
    return q < 0 ? -1 : q + 1;
  }
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    let i = at;
    while (i < text.length) {
      const d = text.charCodeAt(i);
      if (d === 0x22) {
        const q = stringEnd(text, i);
        if (q < 0) return -1;
        i = q + 1;
        continue;
      }
      if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return -1;
  }
  // A number, true, false or null: up to the next delimiter.
  let i = at;
  while (i < text.length) {
    const d = text.charCodeAt(i);
    if (d === 0x2c || d === 0x7d || d === 0x5d) break;
    i++;
  }
  return i === at ? -1 : i;
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

/** The value a pointer names in `root`, or undefined. */
export function valueAt(root: unknown, pointer: string): unknown {
  let node = root;
  for (const key of keysOf(pointer)) {
    if (!isObject(node)) return undefined;
    node = node[key];
  }
  return node;
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
