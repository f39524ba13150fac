import type { Command } from 'commander';
import { registerExport } from './export.js';
import { registerRoles } from './roles.js';

/**
 * Every `herald` command, each registered by a function of its own file in this folder
 * (`herald verify`, `herald projections …`, `herald export`, `herald roles …`).
 */
export const COMMANDS: ReadonlyArray<(program: Command) => void> = [registerExport, registerRoles];
