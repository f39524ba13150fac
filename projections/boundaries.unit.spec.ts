/**
 * A read model's tables are named only inside its folder: its migrations, projection and
 * queries. Everything else (the API, push, other read models, their tests, benchmarks)
 * reaches them through the folder's queries, so a read model can change its tables, or be
 * rebuilt into the next version's beside them, without a search through the repository.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCANNED = ['apps', 'libs', 'projections', 'bench', 'examples', 'events'];

interface Source {
  /** From the repository's root, with forward slashes. */
  readonly path: string;
  readonly text: string;
}

const TABLE = /\brm_[a-z0-9_]+/g;
/** Where a migration gives a table or index its name. */
const DECLARED = /\b(?:CREATE\s+(?:UNLOGGED\s+)?TABLE|CREATE\s+(?:UNIQUE\s+)?INDEX|RENAME\s+TO)\s+(rm_[a-z0-9_]+)/gi;

/** The read model folder a file lies in (`projections/<name>/...`), if any. */
const folderOf = (path: string): string | undefined => /^projections\/([^/]+)\//.exec(path)?.[1];

/** Each table (and index) name to the read model folder whose migrations name it. */
function owners(sources: readonly Source[]): Map<string, string> {
  const owner = new Map<string, string>();
  for (const { path, text } of sources) {
    const folder = folderOf(path);
    if (!folder) continue;
    for (const [, name] of text.matchAll(DECLARED)) owner.set(name!, folder);
  }
  return owner;
}

/** Every place a read-model table is named outside the folder that owns it, as `path: name`. */
function violations(sources: readonly Source[]): string[] {
  const owner = owners(sources);
  const found: string[] = [];
  for (const { path, text } of sources) {
    for (const [name] of text.matchAll(TABLE)) {
      // A versioned name says its owner; an old one is known from the migrations that made it.
      const folder = /^rm_([a-z]+)_v[0-9]+_/.exec(name)?.[1] ?? owner.get(name);
      if (folder === undefined || folderOf(path) !== folder) found.push(`${path}: ${name}`);
    }
  }
  return found;
}

function sources(): Source[] {
  return SCANNED.flatMap((top) =>
    readdirSync(join(ROOT, top), { recursive: true, encoding: 'utf8' })
      .filter(
        (file) => file.endsWith('.ts') && !file.split(sep).some((part) => part === 'node_modules' || part === 'dist'),
      )
      .map((file) => {
        const path = join(ROOT, top, file);
        return { path: relative(ROOT, path).split(sep).join('/'), text: readFileSync(path, 'utf8') };
      }),
  );
}

// Table names built from pieces, so that this file names none itself.
const table = (...parts: string[]): string => ['rm', ...parts].join('_');

describe('read-model boundaries', () => {
  it("no file outside a read model's folder names its tables", () => {
    const all = sources();
    expect(all.some((s) => s.path === 'projections/inbox/inbox.queries.ts')).toBe(true);
    expect(violations(all)).toEqual([]);
  });

  it('a table named in another folder, a test included, is a violation', () => {
    const inbox: Source = {
      path: 'projections/inbox/inbox.migrations.ts',
      text: `CREATE TABLE ${table('inbox', 'members')}; ALTER TABLE ${table('inbox', 'members')} RENAME TO ${table('inbox', 'v1', 'members')};`,
    };
    expect(
      violations([
        inbox,
        { path: 'projections/inbox/inbox.queries.ts', text: `FROM ${table('inbox', 'v1', 'members')}` },
        { path: 'apps/api/src/push/push.e2e.spec.ts', text: `LOCK TABLE ${table('inbox', 'v1', 'members')}` },
        { path: 'projections/timeline/timeline.queries.ts', text: `JOIN ${table('inbox', 'members')}` },
        { path: 'bench/chat.ts', text: `FROM ${table('nobody', 'knows')}` },
      ]),
    ).toEqual([
      `apps/api/src/push/push.e2e.spec.ts: ${table('inbox', 'v1', 'members')}`,
      `projections/timeline/timeline.queries.ts: ${table('inbox', 'members')}`,
      `bench/chat.ts: ${table('nobody', 'knows')}`,
    ]);
  });
});
