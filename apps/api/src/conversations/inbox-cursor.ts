/**
 * The inbox's cursor: the sort key of a page's last row (its last activity, then its
 * conversation id), opaque to clients. The time travels as microseconds since the epoch,
 * as PostgreSQL keeps it: a JS Date keeps milliseconds, and a cursor rounded to them would
 * repeat or skip conversations active within the same millisecond. An integer, unlike a
 * timestamp's text, is checked here in full, so no cursor can make the database fail.
 */
import { Uuid } from '@herald/nest';
import { z } from 'zod';

export interface InboxPosition {
  /** Microseconds since the epoch, as decimal digits (beyond what a JS number holds exactly). */
  readonly activityMicros: string;
  readonly conversationId: string;
}

const SHAPE = /^(-?\d{1,16})\|([0-9a-fA-F-]{36})$/;

export const encodeInboxCursor = (at: InboxPosition): string =>
  Buffer.from(`${at.activityMicros}|${at.conversationId}`).toString('base64url');

/** `?cursor=`: the nextCursor of the page before, decoded; anything else is a 400. */
export const InboxCursor = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,100}$/)
  .transform((cursor, ctx): InboxPosition => {
    const match = SHAPE.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
    const id = Uuid.safeParse(match?.[2]);
    if (!match || !id.success) {
      ctx.addIssue({ code: 'custom', message: 'not a cursor this list gave' });
      return z.NEVER;
    }
    return { activityMicros: match[1]!, conversationId: id.data };
  })
  .describe('nextCursor of the page before');
