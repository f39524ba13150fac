import type { Command } from 'commander';

/**
 * Every `herald` command, each registered by a function of its own file in this folder
 * (`herald verify`, `herald projections …`, `herald export`, `herald roles …`), loaded only
 * when it runs (or for --help): `herald export` does not load the read models' code that
 * `herald projections` needs (about 40 MB of a process whose memory an export is measured by).
 */
export const COMMANDS: ReadonlyArray<{
  readonly names: readonly string[];
  readonly load: () => Promise<(program: Command) => void>;
}> = [
  { names: ['projections'], load: async () => (await import('./projections.js')).registerProjections },
  { names: ['verify'], load: async () => (await import('./verify.js')).registerVerify },
  { names: ['proof'], load: async () => (await import('./proof.js')).registerProof },
  { names: ['export'], load: async () => (await import('./export.js')).registerExport },
  { names: ['roles'], load: async () => (await import('./roles.js')).registerRoles },
];
