/**
 * The search port on PostgreSQL (search.v1's tables, with search.migrations.ts the only
 * code that names them). Writes keep each version of a message's text with its span of
 * seqs, so a member who left searches the conversation as it read at their leaving
 * (ADR 008) and everyone else its current text. Queries are built from tokens
 * (search.analysis.ts), never from the text as typed: nothing a user sends is syntax.
 */
import { SEARCH_LANGUAGES, type SearchLanguage } from '@herald/config';
import { z } from 'zod';
import { hasPhrase, highlight, indexForms, isCjk, substringPatterns, toTsquery } from './search.analysis.js';
import type {
  SearchChange,
  SearchDocument,
  SearchIndex,
  SearchPage,
  SearchRequest,
  SearchScope,
} from './search.port.js';
import { select, type Sql } from '../sql.js';

export { SEARCH_LANGUAGES, type SearchLanguage };

/**
 * The tsvector of a version: its tokens as they are, and stemmed in the language when there
 * is one (`stemmed`: empty for a CJK-only text, see indexForms).
 */
const vectorOf = (terms: string, stemmed: string, language: SearchLanguage): string =>
  language === 'simple'
    ? `to_tsvector('simple', ${terms})`
    : `to_tsvector('simple', ${terms}) || to_tsvector('${language}', ${stemmed})`;

const Hit = z.object({
  conversation_id: z.string(),
  message_id: z.string(),
  seq: z.string(),
  sender_id: z.string(),
  sent_at: z.date(),
  has_attachment: z.boolean(),
  text: z.string(),
  score: z.number(),
  floor_sent_at: z.date(),
  floor_message_id: z.string(),
});

/** Messages a search reads one by one rather than through the GIN index (when counts are known; else conversations). */
export const SCAN_MESSAGES = 20_000;
const SCAN_CONVERSATIONS = 100;

/**
 * How many matches a search ranks: the newest (by time sent, then message id). Results are
 * the best matches among the newest SEARCH_CANDIDATES matching messages the caller may
 * read; older matches are reached by `sentBefore`. Ranking every match made a common word
 * read ~18,000 rows at random for a user in 2,000 conversations (docs/benchmarks.md).
 */
export const SEARCH_CANDIDATES = 500;

function isSmall(scopes: readonly SearchScope[]): boolean {
  if (scopes.some((s) => s.messageCount === undefined)) return scopes.length <= SCAN_CONVERSATIONS;
  return scopes.reduce((sum, s) => sum + (s.messageCount ?? 0), 0) <= SCAN_MESSAGES;
}

export class PostgresSearchIndex implements SearchIndex {
  constructor(
    private readonly db: Sql,
    private readonly language: SearchLanguage = 'english',
    /** Runs EXPLAIN ANALYZE of each search instead (the benchmark's diagnostics). */
    private readonly explain = false,
    /** {@link SEARCH_CANDIDATES}; smaller in tests. */
    private readonly candidates = SEARCH_CANDIDATES,
  ) {
    if (!(SEARCH_LANGUAGES as readonly string[]).includes(language))
      throw new Error(`unknown search language ${language}`);
  }

  async write(changes: readonly SearchChange[]): Promise<void> {
    let sent: SearchDocument[] = [];
    for (const change of changes) {
      if (change.kind === 'sent') {
        sent.push(change.document);
        continue;
      }
      if (sent.length > 0) await this.insert(sent);
      sent = [];
      if (change.kind === 'edited') await this.edit(change.messageId, change.seq, change.text);
      else await this.remove(change.messageId, change.seq);
    }
    if (sent.length > 0) await this.insert(sent);
  }

  /**
   * New messages in one statement; a message already there (a replay) stays as it is. The
   * `terms` column holds the tokens pg_trgm searches inside (indexForms' `substrings`); the
   * tsvector is made from all of them.
   */
  private async insert(documents: readonly SearchDocument[]): Promise<void> {
    const column = <T>(pick: (d: SearchDocument) => T): T[] => documents.map(pick);
    const forms = documents.map((d) => indexForms(d.text));
    await this.db.query(
      `INSERT INTO rm_search_v1_documents (message_id, from_seq, conversation_id, seq, sender_id, sent_at, has_attachment, text, terms, tsv)
       SELECT message_id, seq, conversation_id, seq, sender_id, sent_at, has_attachment, text, substrings, ${vectorOf('terms', 'stemmed', this.language)}
         FROM unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::uuid[], $5::timestamptz[], $6::boolean[], $7::text[], $8::text[], $9::text[], $10::text[])
           AS u(message_id, seq, conversation_id, sender_id, sent_at, has_attachment, text, terms, substrings, stemmed)
       ON CONFLICT DO NOTHING`,
      [
        column((d) => d.messageId),
        column((d) => d.seq),
        column((d) => d.conversationId),
        column((d) => d.senderId),
        column((d) => d.sentAt),
        column((d) => d.hasAttachment),
        column((d) => d.text),
        forms.map((f) => f.terms),
        forms.map((f) => f.substrings),
        forms.map((f) => f.stemmed),
      ],
    );
  }

  /** Ends the current version at this seq and starts the edited one, when the edit is newer than it. */
  private async edit(messageId: string, seq: number, text: string): Promise<void> {
    const forms = indexForms(text);
    await this.db.query(
      `WITH ended AS (
         UPDATE rm_search_v1_documents SET until_seq = $2
          WHERE message_id = $1 AND until_seq IS NULL AND from_seq < $2
          RETURNING conversation_id, seq, sender_id, sent_at, has_attachment)
       INSERT INTO rm_search_v1_documents (message_id, from_seq, conversation_id, seq, sender_id, sent_at, has_attachment, text, terms, tsv)
       SELECT $1, $2, conversation_id, seq, sender_id, sent_at, has_attachment, $3, $5::text, ${vectorOf('$4::text', '$6::text', this.language)}
         FROM ended
       ON CONFLICT DO NOTHING`,
      [messageId, seq, text, forms.terms, forms.substrings, forms.stemmed],
    );
  }

  /** Ends the current version: no one who reads the conversation now finds it; one who left before still does. */
  private async remove(messageId: string, seq: number): Promise<void> {
    await this.db.query(
      'UPDATE rm_search_v1_documents SET until_seq = $2 WHERE message_id = $1 AND until_seq IS NULL AND from_seq < $2',
      [messageId, seq],
    );
  }

  /**
   * Words first (the tsvector's GIN index); only when they find nothing on a first page
   * (or on a page after substring matches, whose score is 0), substrings of Latin words
   * (pg_trgm's GIN index): `liab` finds `reliability`. One at a time, so that each
   * statement uses its own index rather than a scan of the whole table for an OR of both.
   */
  async search(request: SearchRequest): Promise<SearchPage> {
    const words = await this.page(request, false);
    if (words.hits.length > 0 || (request.cursor !== undefined && request.cursor.score > 0)) return words;
    if (substringPatterns(request.groups).length === 0) return words;
    return this.page(request, true);
  }

  private async page(request: SearchRequest, substrings: boolean): Promise<SearchPage> {
    const scopes = request.scopes.filter(
      (s) => request.conversationId === undefined || s.conversationId === request.conversationId,
    );
    const simple = toTsquery(request.groups, { prefix: true });
    if (scopes.length === 0 || simple === '') return { hits: [], nextCursor: null };
    const stemmed = this.language === 'simple' ? '' : toTsquery(request.groups, { prefix: false });
    // A CJK phrase is asked of the GIN index as its bigrams (`&`), which the index answers
    // without reading any row; the phrase itself (positions, read from each row's tsvector)
    // is tested only on the rows the caller may read. Asked whole, the index made PostgreSQL
    // read the positions of every row holding the bigrams, in every conversation. Bigrams
    // found together nearly always stand together, so the planner's estimate of the `&` is
    // the phrase's; not so for two Latin words (`"meeting tomorrow"`: 78 phrases among
    // thousands of messages with both), where that estimate made it walk the whole table by
    // time (1 s): a phrase with Latin words is asked whole (docs/benchmarks.md).
    const phrase =
      !substrings &&
      hasPhrase(request.groups) &&
      request.groups.every((g) => g.tokens.length === 1 || g.tokens.every(isCjk));
    const words = (prefix: boolean, phrases: boolean): string => toTsquery(request.groups, { prefix, phrases });
    const tsquery = (a: string, b: string): string =>
      stemmed === ''
        ? `to_tsquery('simple', ${a})`
        : `(to_tsquery('simple', ${a}) || to_tsquery('${this.language}', ${b}))`;

    // The tsqueries first, as text: the statement then holds them as constants, which the
    // walk by time (below) tests row by row without building them again.
    const [built] = await select(
      this.db,
      z.object({ q: z.string(), words: z.string() }),
      stemmed === ''
        ? `SELECT ${tsquery('$1', '')}::text AS q, ${tsquery('$2', '')}::text AS words`
        : `SELECT ${tsquery('$1', '$2')}::text AS q, ${tsquery('$3', '$4')}::text AS words`,
      stemmed === '' ? [simple, words(true, !phrase)] : [simple, stemmed, words(true, !phrase), words(false, !phrase)],
    );
    if (!built) return { hits: [], nextCursor: null };

    const params: unknown[] = [];
    const p = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    const query = `${p(built.q)}::tsquery`;
    const current = scopes.filter((s) => s.leftSeq === null);
    const departed = scopes.filter((s) => s.leftSeq !== null);
    const left = `(${p(departed.map((s) => s.leftSeq))}::bigint[])[array_position(${p(departed.map((s) => s.conversationId))}::uuid[], d.conversation_id)]`;
    const match = substrings
      ? `d.terms LIKE ALL (${p(substringPatterns(request.groups))}::text[])`
      : `d.tsv @@ ${phrase ? `${p(built.words)}::tsquery` : query}`;
    // The span the caller may read: the current versions, or the ones standing at their
    // leaving. Tests of each row, not a join: a join would not keep the walk's order.
    let span = `((d.conversation_id = ANY (${p(current.map((s) => s.conversationId))}::uuid[]) AND d.until_seq IS NULL)
        OR (d.conversation_id = ANY (${p(departed.map((s) => s.conversationId))}::uuid[])
            AND d.seq <= ${left} AND d.from_seq <= ${left} AND (d.until_seq IS NULL OR d.until_seq > ${left})))`;
    // CASE: the span first, then the phrase (PostgreSQL orders plain conditions as it likes).
    if (phrase) span = `CASE WHEN ${span} THEN d.tsv @@ ${query} ELSE false END`;
    const where = [match, span];
    if (request.senderId !== undefined) where.push(`d.sender_id = ${p(request.senderId)}::uuid`);
    if (request.sentBefore !== undefined) where.push(`d.sent_at < ${p(request.sentBefore)}::timestamptz`);
    if (request.sentAfter !== undefined) where.push(`d.sent_at > ${p(request.sentAfter)}::timestamptz`);
    if (request.hasAttachment !== undefined) where.push(`d.has_attachment = ${p(request.hasAttachment)}`);
    // The candidates: the newest `candidates` matches; a later page ranks the first page's
    // (from its oldest on, with room for matches sent since), so pages neither lose nor repeat.
    const floor = request.cursor?.floor;
    if (floor)
      where.push(`(d.sent_at, d.message_id) >= (${p(floor.sentAt)}::timestamptz, ${p(floor.messageId)}::uuid)`);
    const limit = floor ? 2 * this.candidates : this.candidates;
    const newest = `ORDER BY d.sent_at DESC, d.message_id DESC LIMIT ${p(limit)}`;
    // Ranked once chosen (each candidate's tsvector read once, not every match's).
    const after = request.cursor
      ? `WHERE (r.score, r.sent_at, r.message_id) < (${p(request.cursor.score)}::float8, ${p(request.cursor.sentAt)}::timestamptz, ${p(request.cursor.messageId)}::uuid)`
      : '';
    const columns = `d.conversation_id, d.message_id, d.seq, d.sender_id, d.sent_at, d.has_attachment, d.text, d.tsv`;
    // Few messages to read (a user in tens of conversations): read them by conversation and
    // test each, rather than let the GIN index gather a common word's matches over the
    // whole table. Many: the GIN index's matches tested against the spans and sorted (a rare
    // word), or the index on (sent_at, message_id) walked newest first, each row tested,
    // until it has the candidates (a common word); the planner chooses by the word's frequency.
    const candidates = isSmall(scopes)
      ? `WITH d AS MATERIALIZED (SELECT d.* FROM rm_search_v1_documents d
                                WHERE d.conversation_id = ANY (${p(scopes.map((s) => s.conversationId))}::uuid[]) AND ${span}),
            c AS MATERIALIZED (SELECT ${columns} FROM d WHERE ${[match, ...where.slice(2)].join(' AND ')} ${newest})`
      : `WITH c AS MATERIALIZED (SELECT ${columns} FROM rm_search_v1_documents d WHERE ${where.join(' AND ')} ${newest})`;
    const statement = `${candidates}
         SELECT r.conversation_id, r.message_id, r.seq::text AS seq, r.sender_id, r.sent_at, r.has_attachment, r.text, r.score,
                o.sent_at AS floor_sent_at, o.message_id AS floor_message_id
           FROM (SELECT c.*, ts_rank(c.tsv, ${query})::float8 AS score FROM c) r
          CROSS JOIN (SELECT sent_at, message_id FROM c ORDER BY sent_at, message_id LIMIT 1) o
           ${after}
          ORDER BY r.score DESC, r.sent_at DESC, r.message_id DESC LIMIT ${p(request.limit + 1)}`;
    if (this.explain) {
      const plan = await select(
        this.db,
        z.record(z.string(), z.string()),
        `EXPLAIN (ANALYZE, BUFFERS) ${statement}`,
        params,
      );
      console.log(plan.map((r) => Object.values(r)[0]).join('\n'));
    }
    const rows = await select(this.db, Hit, statement, params);
    const hits = rows.slice(0, request.limit).map((r) => ({
      conversationId: r.conversation_id,
      messageId: r.message_id,
      seq: Number(r.seq),
      senderId: r.sender_id,
      sentAt: r.sent_at.toISOString(),
      hasAttachment: r.has_attachment,
      snippet: highlight(r.text, request.groups),
      score: r.score,
    }));
    const last = hits[hits.length - 1];
    const oldest = rows[0];
    return {
      hits,
      nextCursor:
        rows.length > request.limit && last && oldest
          ? {
              score: last.score,
              sentAt: last.sentAt,
              messageId: last.messageId,
              floor: floor ?? { sentAt: oldest.floor_sent_at.toISOString(), messageId: oldest.floor_message_id },
            }
          : null,
    };
  }
}

/** Bytes search.v1's table takes with its indexes and TOAST (for the benchmark's index size). */
export async function searchTableSize(db: Sql): Promise<number> {
  const [row] = await select(
    db,
    z.object({ bytes: z.string() }),
    "SELECT pg_total_relation_size('rm_search_v1_documents')::text AS bytes",
    [],
  );
  return Number(row?.bytes ?? 0);
}
