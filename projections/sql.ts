/**
 * How a read model's queries read rows: each statement comes with a zod schema of its row,
 * so a query returns typed rows checked against what PostgreSQL actually answered (a
 * column renamed, a bigint left as text) rather than rows cast to a type that may lie.
 */
import { z } from 'zod';

/** What runs a statement: a TypeORM DataSource or EntityManager, or any function-shaped wrapper of one. */
export interface Sql {
  query(sql: string, parameters: unknown[]): Promise<unknown>;
}

/** The rows `sql` answers, each checked against `row`. */
export async function select<Row extends z.ZodType>(
  db: Sql,
  row: Row,
  sql: string,
  parameters: unknown[],
): Promise<z.output<Row>[]> {
  return z.array(row).parse(await db.query(sql, parameters));
}

/** Where a list ordered by user id starts: below every uuid. */
export const FIRST_USER = '00000000-0000-0000-0000-000000000000';

/**
 * A page of rows read with `LIMIT limit + 1`: the extra row is not shown, it only tells
 * that there is a next page (a full last page then answers null, not an empty page more).
 */
export function toPage<T, C>(
  rows: readonly T[],
  limit: number,
  cursorOf: (last: T) => C,
): { rows: T[]; nextCursor: C | null } {
  const shown = rows.slice(0, limit);
  return { rows: shown, nextCursor: rows.length > limit ? cursorOf(shown[shown.length - 1]!) : null };
}
