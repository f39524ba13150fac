/**
 * A read model's tables are named only inside its folder. The rule is ESLint's
 * (eslint/read-model-tables.js, run by `npm run check` over the whole repository); these
 * cases show that it bites: on a table named in another folder, in a test, in a comment, in
 * a benchmark, and on a name no migration declares.
 */
import { Linter } from 'eslint';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { migrationsUnder, misplaced, ownersOf, readModelTables } from './read-model-tables.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

// Table names built from pieces, so that this file names none itself.
const table = (...parts: string[]): string => ['rm', ...parts].join('_');

/** The rule's messages for `text` as the file at `path` (from the root). */
function lint(path: string, text: string): string[] {
  const linter = new Linter({ cwd: ROOT });
  return linter
    .verify(
      text,
      [
        {
          files: ['**/*.ts'],
          plugins: { herald: { rules: { 'read-model-tables': readModelTables(ROOT) } } },
          rules: { 'herald/read-model-tables': 'error' },
        },
      ],
      { filename: `${ROOT}${path}` },
    )
    .map((message) => `${message.line}:${message.column} ${message.message}`);
}

describe('read-model boundaries (the ESLint rule)', () => {
  it("knows every read model's tables from the migrations in its folder", () => {
    const owners = ownersOf(migrationsUnder(ROOT));
    expect(owners.get(table('inbox', 'v1', 'members'))).toBe('inbox');
    expect(owners.get(table('timeline', 'v1', 'messages'))).toBe('timeline');
    // An old name, from before the tables were versioned, still has its owner.
    expect(owners.get(table('members'))).toBe('membership');
  });

  it('lets a folder name its own tables', () => {
    expect(
      lint('projections/inbox/inbox.queries.ts', `const q = 'SELECT 1 FROM ${table('inbox', 'v1', 'members')}';`),
    ).toEqual([]);
  });

  it('reports a table named in another folder, a test, a comment or a benchmark, where it is', () => {
    const members = table('inbox', 'v1', 'members');
    expect(lint('apps/api/src/push/push.e2e.spec.ts', `const q = \`LOCK TABLE ${members}\`;`)).toEqual([
      `1:23 ${members} is a table of the read model in projections/inbox/: name it only there, and read it elsewhere through that folder's queries.`,
    ]);
    expect(lint('projections/timeline/timeline.queries.ts', `// joins ${members}\nexport {};`)).toHaveLength(1);
    expect(lint('bench/chat.ts', `const old = '${table('members')}';`)).toEqual([
      `1:14 ${table('members')} is a table of the read model in projections/membership/: name it only there, and read it elsewhere through that folder's queries.`,
    ]);
  });

  it('reports a name no read model declares', () => {
    expect(misplaced('bench/chat.ts', `FROM ${table('nobody', 'knows')}`, new Map())).toEqual([
      { name: table('nobody', 'knows'), index: 5, owner: undefined },
    ]);
    expect(lint('bench/chat.ts', `const q = 'FROM ${table('nobody', 'knows')}';`)).toEqual([
      `1:17 ${table('nobody', 'knows')} is no read model's table (no migration in projections/<name>/ creates it).`,
    ]);
  });
});
