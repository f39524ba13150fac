import type { Rule } from 'eslint';

export interface Source {
  /** From the repository's root, with forward slashes. */
  readonly path: string;
  readonly text: string;
}

export function folderOf(path: string): string | undefined;
export function ownersOf(sources: readonly Source[]): Map<string, string>;
export function misplaced(
  path: string,
  text: string,
  owners: ReadonlyMap<string, string>,
): { name: string; index: number; owner: string | undefined }[];
export function migrationsUnder(root: string): Source[];
export function readModelTables(root: string): Rule.RuleModule;
