/**
 * System roles and the audit trail: internal events, never relayed. A role is granted or
 * revoked in the user's own stream (so the user's fold knows it, with who did it); every
 * audit read is recorded in the auditor's `audit-<userId>` stream (`audit-cli` for the herald
 * command line's exports), which nothing writes but the recording of those reads.
 */
import { z } from 'zod';
import { defineEvent, id } from '../define.js';

/** Herald's system-wide roles (group roles are separate): `auditor` reads history, `operator` runs the system. */
export const SYSTEM_ROLES = ['auditor', 'operator'] as const;
export type SystemRole = (typeof SYSTEM_ROLES)[number];

const by = z.string().min(1).max(200).meta({
  description:
    "Who did it: `cli:<os user>` for the herald command line, an operator's user id (`herald roles … --as`), or `system` (HERALD_INITIAL_OPERATOR at start).",
});

export const SystemRoleGranted = defineEvent({
  type: 'SystemRoleGranted',
  version: 1,
  category: 'user',
  description: 'A user was given a system role (auditor or operator).',
  schema: z.object({ userId: id('The user.'), role: z.enum(SYSTEM_ROLES), by }),
});

export const SystemRoleRevoked = defineEvent({
  type: 'SystemRoleRevoked',
  version: 1,
  category: 'user',
  description: 'A system role was taken from a user.',
  schema: z.object({ userId: id('The user.'), role: z.enum(SYSTEM_ROLES), by }),
});

export const AuditRead = defineEvent({
  type: 'AuditRead',
  version: 1,
  category: 'audit',
  description:
    'An auditor read history (the audit API, or `herald export`): who, which read, with which parameters, when.',
  schema: z.object({
    auditor: z
      .string()
      .min(1)
      .max(200)
      .meta({ description: "The auditor's user id, or `cli:<os user>` for the herald command line." }),
    read: z.string().max(100).meta({ description: 'The route, e.g. `GET /audit/log`, or `herald export`.' }),
    params: z
      .record(z.string(), z.string().max(1_000))
      .meta({ description: 'The path and query parameters, as given.' }),
  }),
});
