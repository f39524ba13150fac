import type { Command } from 'commander';
import { registerProjections } from './projections.js';
import { registerProof } from './proof.js';
import { registerVerify } from './verify.js';
import { registerExport } from './export.js';
import { registerRoles } from './roles.js';

/**
 * Every `herald` command, each registered by a function of its own file in this folder
 * (`herald verify`, `herald projections …`, `herald export`, `herald roles …`).
 */
export const COMMANDS: ReadonlyArray<(program: Command) => void> = [
  registerProjections,
  registerVerify,
  registerProof,
  registerExport,
  registerRoles,
];
