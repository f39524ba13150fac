/**
 * Keyset paging, the one way every list pages: a page holds at most MAX_PAGE rows and
 * names where the next one starts (`nextCursor`, null on the last page), so that no list
 * is ever cut short without saying so. A cursor is the sort key of a page's last row
 * (not an offset), so a page never reads the rows of the pages before it: lists by user id
 * are one index range; the inbox, whose order lives in another table, sorts the caller's
 * conversations (as many as they belong to) for each page. This file holds the request's
 * side (limit, cursors); the read models' queries read `limit + 1` rows and cut the page
 * with `toPage` (projections/sql.ts).
 */
import { Uuid } from '@herald/nest';
import { z } from 'zod';

export const MAX_PAGE = 100;

/**
 * A non-negative integer in a query string: decimal digits only. `z.coerce.number()` took
 * '' as 0 and '0x10' as 16; a seq past what a JS number holds exactly is refused too.
 */
const decimal = (max: number) =>
  z
    .string()
    .regex(/^[0-9]{1,16}$/, 'decimal digits only')
    .transform(Number)
    .pipe(z.number().int().max(max));

/** `?before=` / `?since=`: a seq. */
export const SeqParam = decimal(Number.MAX_SAFE_INTEGER);

/** `?limit=`: 1..MAX_PAGE rows, 50 when not given. */
export const PageLimit = decimal(MAX_PAGE)
  .pipe(z.number().min(1))
  .default(50)
  .describe(`Rows in a page, 1..${MAX_PAGE}`);

/** `?cursor=` of a list ordered by user id: the last user id of the page before. */
export const UserCursor = Uuid.optional().describe('nextCursor of the page before');
