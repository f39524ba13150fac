/** The SQL that serializes writers of the same streams, and the array literals it and the batch write use. */
import type pg from 'pg';

/** First key of the two-key advisory locks on streams (its own key space). */
const STREAM_LOCK_CLASS = 0x48524c44; // "HRLD"

/**
 * Serializes writers of the same streams without writing a row: transaction-level
 * advisory locks on the streams' hashes, taken in hash order so that concurrent batches
 * cannot deadlock (a hash collision only makes two streams share a lock).
 */
export function lockStreams(client: pg.ClientBase, streamIds: readonly string[]): string {
  return `SELECT pg_advisory_xact_lock(${STREAM_LOCK_CLASS}, k)
            FROM (SELECT DISTINCT hashtext(id) AS k FROM unnest(${literal(client, streamIds, 'text')}) AS id ORDER BY 1) AS keys`;
}

/**
 * The same locks as one statement's first step, for a statement that must lock before it
 * writes: a CTE that takes them (their count, `n`), which the writing part then gates on
 * with `(SELECT n FROM stream_locks) >= 0`, a one-time filter PostgreSQL evaluates before
 * the first row. `$param` is the statement's text[] of stream ids.
 */
export function lockStreamsCte(param: string): string {
  return `stream_locks AS MATERIALIZED (
            SELECT count(*) AS n FROM (
              SELECT pg_advisory_xact_lock(${STREAM_LOCK_CLASS}, k)
                FROM (SELECT DISTINCT hashtext(id) AS k FROM unnest(${param}) AS id ORDER BY 1) AS keys) AS locked)`;
}

/** An array literal of validated ids (letters, digits, _ . : -), escaped all the same. */
export function literal(client: pg.ClientBase, ids: readonly string[], type: 'text' | 'uuid'): string {
  return `ARRAY[${ids.map((id) => client.escapeLiteral(id)).join(',')}]::${type}[]`;
}
