/**
 * ESLint rule `herald/read-model-tables`: a read model's tables are named only inside its
 * folder, `projections/<name>/` (its migrations, projection and queries). Everything else
 * (the API, push, other read models, tests, benchmarks) reaches them through the folder's
 * queries, so a read model can change its tables, or be rebuilt into the next version's
 * beside them, without a search through the repository (ADR 011). `npm run check` runs it
 * with the rest of the lint; read-model-tables.unit.spec.ts shows that it bites.
 *
 * A versioned name (`rm_inbox_v1_members`) says its owner; an older one is owned by the
 * folder whose migrations created or renamed it. Comments count too: a table named in a
 * comment outside its folder is a reference that goes stale unseen.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const TABLE = /\brm_[a-z0-9_]+/g;
/** Where a migration gives a table or index its name. */
const DECLARED = /\b(?:CREATE\s+(?:UNLOGGED\s+)?TABLE|CREATE\s+(?:UNIQUE\s+)?INDEX|RENAME\s+TO)\s+(rm_[a-z0-9_]+)/gi;

/** The read model folder a file lies in (`projections/<name>/...`; the path from the root, with `/`), if any. */
export const folderOf = (path) => /^projections\/([^/]+)\//.exec(path)?.[1];

/** Each table (and index) name to the read model folder whose migrations name it, from `sources` ({ path, text }). */
export function ownersOf(sources) {
  const owner = new Map();
  for (const { path, text } of sources) {
    const folder = folderOf(path);
    if (!folder) continue;
    for (const [, name] of text.matchAll(DECLARED)) owner.set(name, folder);
  }
  return owner;
}

/** The read-model tables `text` (of the file at `path`) names outside their owner's folder: `{ name, index, owner }`. */
export function misplaced(path, text, owners) {
  const found = [];
  for (const match of text.matchAll(TABLE)) {
    const name = match[0];
    const owner = /^rm_([a-z]+)_v[0-9]+_/.exec(name)?.[1] ?? owners.get(name);
    if (owner === undefined || folderOf(path) !== owner) found.push({ name, index: match.index, owner });
  }
  return found;
}

/** The migrations of every read model folder under `root`, as `ownersOf` takes them. */
export function migrationsUnder(root) {
  const projections = join(root, 'projections');
  return readdirSync(projections, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && file.split(sep).length > 1)
    .map((file) => ({
      path: relative(root, join(projections, file)).split(sep).join('/'),
      text: readFileSync(join(projections, file), 'utf8'),
    }));
}

/** The rule, for the repository at `root`. */
export function readModelTables(root) {
  let owners;
  return {
    meta: {
      type: 'problem',
      docs: { description: "A read model's tables are named only in its folder, projections/<name>/." },
      messages: {
        owned:
          "{{name}} is a table of the read model in projections/{{owner}}/: name it only there, and read it elsewhere through that folder's queries.",
        unknown: "{{name}} is no read model's table (no migration in projections/<name>/ creates it).",
      },
      schema: [],
    },
    create(context) {
      const path = relative(root, context.filename).split(sep).join('/');
      return {
        Program() {
          owners ??= ownersOf(migrationsUnder(root));
          const source = context.sourceCode;
          for (const { name, index, owner } of misplaced(path, source.text, owners)) {
            context.report({
              loc: { start: source.getLocFromIndex(index), end: source.getLocFromIndex(index + name.length) },
              messageId: owner === undefined ? 'unknown' : 'owned',
              data: { name, owner },
            });
          }
        },
      };
    },
  };
}
