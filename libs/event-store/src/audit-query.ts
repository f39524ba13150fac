/**
 * The filters of an audit read of the log, as the audit API's query string and `herald
 * export`'s options give them (the same names, the same checks): one parser for both.
 */
import {
  CATEGORIES,
  definitionOf,
  INTERNAL_CATEGORIES,
  streamIdOf,
  streamPrefixOf,
  type StreamCategory,
} from '@herald/events';
import { z } from 'zod';
import { isCheckpointInRange } from './checkpoint.js';
import type { AuditLogQuery } from './types.js';

const CATEGORY_NAMES = Object.keys({ ...CATEGORIES, ...INTERNAL_CATEGORIES }) as StreamCategory[];

const list = (what: string, check: (item: string) => boolean) =>
  z
    .string()
    .max(2_000)
    .transform((v) =>
      v
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== ''),
    )
    .refine((items) => items.length > 0 && items.length <= 50, `1 to 50 ${what}, comma-separated`)
    .refine((items) => items.every(check), `unknown ${what}`);

// In range, not only well formed: a checkpoint past what the store holds would fail in the query.
const checkpoint = z.string().refine(isCheckpointInRange, 'a checkpoint (hhhhhhhhhhhhhhhh-hhhhhhhhhhhhhhhh)');
const time = z.iso.datetime({ offset: true }).transform((v) => new Date(v));

/** Every filter, each optional; names as in `GET /audit/log` and `herald export`. */
export const AuditLogParams = z.strictObject({
  after: checkpoint.optional().describe('Events after this checkpoint (exclusive)'),
  upTo: checkpoint.optional().describe('Events up to this checkpoint (inclusive)'),
  since: time.optional().describe('Events recorded at or after this time (ISO 8601 with offset)'),
  until: time.optional().describe('Events recorded before this time (ISO 8601 with offset)'),
  type: list('event types', (t) => definitionOf(t) !== undefined)
    .optional()
    .describe('Only these event types, comma-separated'),
  category: list('stream categories', (c) => (CATEGORY_NAMES as string[]).includes(c))
    .optional()
    .describe(`Only streams of these categories, comma-separated: ${CATEGORY_NAMES.join(', ')}`),
  actor: z.string().min(1).max(200).optional().describe("Only events whose metadata's actorId is this"),
  conversation: z.uuid().toLowerCase().optional().describe("Only this conversation's stream"),
});
export type AuditLogParams = z.output<typeof AuditLogParams>;

/** The problem with a combination of filters, if any (each filter alone was checked by the schema). */
export function auditParamsProblem(p: AuditLogParams): { path: string; problem: string } | undefined {
  if (p.after !== undefined && (p.since !== undefined || p.until !== undefined)) {
    return { path: 'after', problem: 'a checkpoint range (after) and a time range (since, until) do not go together' };
  }
  if (p.after !== undefined && p.upTo !== undefined && p.upTo <= p.after) {
    return { path: 'upTo', problem: 'must be after `after`' };
  }
  if (p.since !== undefined && p.until !== undefined && p.until <= p.since) {
    return { path: 'until', problem: 'must be after `since`' };
  }
  return undefined;
}

export function auditLogQueryOf(p: AuditLogParams): AuditLogQuery {
  return {
    ...(p.after !== undefined ? { after: p.after } : {}),
    ...(p.upTo !== undefined ? { upTo: p.upTo } : {}),
    ...(p.since !== undefined ? { since: p.since } : {}),
    ...(p.until !== undefined ? { until: p.until } : {}),
    ...(p.type !== undefined ? { eventTypes: p.type } : {}),
    ...(p.category !== undefined ? { streamPrefixes: p.category.map((c) => streamPrefixOf(c as StreamCategory)) } : {}),
    ...(p.actor !== undefined ? { actorId: p.actor } : {}),
    ...(p.conversation !== undefined ? { streamId: streamIdOf('conversation', p.conversation) } : {}),
  };
}
