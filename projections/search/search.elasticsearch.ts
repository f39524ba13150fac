/**
 * The search port on Elasticsearch 8.x (`@elastic/elasticsearch` 8.x; 9.x needs Node 22).
 * One document per message, id = message id, written with external versioning from the
 * seq of the event that made the change (its position in the conversation's stream): a
 * late, older write is refused by the server (409, ignored) and never overwrites a newer
 * one, and a replay changes nothing. A deletion is a tombstone (versioned like any write,
 * so an older write cannot bring the message back, however late), which no search finds.
 * Writes go through an alias; a rebuild fills a new index and swaps the alias in one
 * atomic request. Text is analysed with built-in filters only (no plugin): `cjk_width`,
 * `lowercase`, `asciifolding` and `cjk_bigram` on the standard tokenizer for words and
 * CJK bigrams, a `unigram` subfield (CJK characters one by one) for CJK substrings, and a
 * `stemmed` subfield in the configured language. Queries are `match`/`match_phrase`
 * clauses built from parsed groups (search.analysis.ts): never `query_string`, so nothing
 * typed is syntax. The request builders are exported for the unit tests.
 *
 * Limit (stated in ADR 017): a member who left searches only messages untouched since
 * their leaving (one document per message keeps no older versions); the timeline still
 * shows them the rest as it was. Fails closed: nothing after their leaving leaks.
 */
import type { Client, estypes } from '@elastic/elasticsearch';
import { highlight, type QueryGroup } from './search.analysis.js';
import type { SearchChange, SearchIndex, SearchPage, SearchRequest, SearchScope } from './search.port.js';

/** What is stored per message. */
export interface EsMessage {
  conversationId: string;
  messageId: string;
  seq: number;
  senderId: string;
  sentAt: string;
  hasAttachment: boolean;
  text: string;
  /** The seq of the change that wrote this version (also its external version). */
  updatedSeq: number;
  deleted: boolean;
}

/** The part of the client the adapter uses (a fake in unit tests; `elasticsearchApi(client)` for a real one). */
export interface ElasticsearchApi {
  putIndexTemplate(request: estypes.IndicesPutIndexTemplateRequest): Promise<unknown>;
  createIndex(request: estypes.IndicesCreateRequest): Promise<unknown>;
  /** The indices an alias points to (none when there is no such alias). */
  aliasTargets(alias: string): Promise<string[]>;
  updateAliases(request: estypes.IndicesUpdateAliasesRequest): Promise<unknown>;
  refresh(index: string): Promise<unknown>;
  bulk(request: estypes.BulkRequest<EsMessage>): Promise<estypes.BulkResponse>;
  mget(request: estypes.MgetRequest): Promise<estypes.MgetResponse<EsMessage>>;
  search(request: estypes.SearchRequest): Promise<estypes.SearchResponse<EsMessage>>;
}

export function elasticsearchApi(client: Client): ElasticsearchApi {
  return {
    putIndexTemplate: (r) => client.indices.putIndexTemplate(r),
    createIndex: (r) => client.indices.create(r),
    aliasTargets: async (alias) => {
      if (!(await client.indices.existsAlias({ name: alias }))) return [];
      return Object.keys(await client.indices.getAlias({ name: alias }));
    },
    updateAliases: (r) => client.indices.updateAliases(r),
    refresh: (index) => client.indices.refresh({ index }),
    bulk: (r) => client.bulk(r),
    mget: (r) => client.mget<EsMessage>(r),
    search: (r) => client.search<EsMessage>(r),
  };
}

/** Stemming languages of Elasticsearch's `stemmer` filter this adapter accepts (the PostgreSQL names). */
export type EsLanguage = 'english' | 'french' | 'german' | 'spanish' | 'italian' | 'portuguese' | 'russian' | 'dutch';

/** The index template: analysis and mappings of every `<alias>-<n>` index. */
export function indexTemplate(alias: string, language: EsLanguage = 'english'): estypes.IndicesPutIndexTemplateRequest {
  const base = ['cjk_width', 'lowercase', 'asciifolding'];
  return {
    name: `${alias}-template`,
    index_patterns: [`${alias}-*`],
    template: {
      settings: {
        analysis: {
          filter: { herald_stemmer: { type: 'stemmer', language } },
          analyzer: {
            // Words, and CJK runs as overlapping bigrams (`消息可靠` → 消息 息可 可靠).
            herald_text: { type: 'custom', tokenizer: 'standard', filter: [...base, 'cjk_bigram'] },
            // CJK characters one by one (the standard tokenizer splits Han and kana so):
            // any substring, a single character too, is a phrase of them.
            herald_unigram: { type: 'custom', tokenizer: 'standard', filter: base },
            herald_stemmed: { type: 'custom', tokenizer: 'standard', filter: [...base, 'herald_stemmer'] },
          },
        },
      },
      mappings: {
        dynamic: 'strict',
        properties: {
          conversationId: { type: 'keyword' },
          messageId: { type: 'keyword' },
          senderId: { type: 'keyword' },
          seq: { type: 'long' },
          updatedSeq: { type: 'long' },
          sentAt: { type: 'date' },
          hasAttachment: { type: 'boolean' },
          deleted: { type: 'boolean' },
          text: {
            type: 'text',
            analyzer: 'herald_text',
            fields: {
              unigram: { type: 'text', analyzer: 'herald_unigram' },
              stemmed: { type: 'text', analyzer: 'herald_stemmed' },
            },
          },
        },
      },
    },
  };
}

/** One bulk `index` action with its document, versioned by the seq that wrote it. */
export function bulkIndex(index: string, message: EsMessage): [estypes.BulkOperationContainer, EsMessage] {
  return [
    { index: { _index: index, _id: message.messageId, version: message.updatedSeq, version_type: 'external' } },
    message,
  ];
}

/** A group as a clause: words by prefix or stem, phrases and CJK as phrases (bigrams or single characters). */
export function groupClause(group: QueryGroup): estypes.QueryDslQueryContainer {
  if (group.cjk || !group.prefix) {
    return {
      bool: {
        should: [{ match_phrase: { text: group.text } }, { match_phrase: { 'text.unigram': group.text } }],
        minimum_should_match: 1,
      },
    };
  }
  return {
    bool: {
      should: [{ match_phrase_prefix: { text: { query: group.text } } }, { match: { 'text.stemmed': group.text } }],
      minimum_should_match: 1,
    },
  };
}

/** Only the spans the caller may read: whole conversations, or up to a leaving (messages untouched since). */
export function scopeFilter(scopes: readonly SearchScope[]): estypes.QueryDslQueryContainer {
  const current = scopes.filter((s) => s.leftSeq === null).map((s) => s.conversationId);
  const departed = scopes.filter((s) => s.leftSeq !== null);
  const should: estypes.QueryDslQueryContainer[] = [];
  if (current.length > 0) should.push({ terms: { conversationId: current } });
  for (const s of departed) {
    should.push({
      bool: {
        filter: [
          { term: { conversationId: s.conversationId } },
          { range: { seq: { lte: s.leftSeq! } } },
          { range: { updatedSeq: { lte: s.leftSeq! } } },
        ],
      },
    });
  }
  return { bool: { should, minimum_should_match: 1 } };
}

/** The search request for a page (`size` one more than the page: the extra hit tells there is a next one). */
export function searchRequest(index: string, request: SearchRequest): estypes.SearchRequest {
  const scopes = request.scopes.filter(
    (s) => request.conversationId === undefined || s.conversationId === request.conversationId,
  );
  const filter: estypes.QueryDslQueryContainer[] = [{ term: { deleted: false } }, scopeFilter(scopes)];
  if (request.senderId !== undefined) filter.push({ term: { senderId: request.senderId } });
  if (request.sentBefore !== undefined || request.sentAfter !== undefined) {
    filter.push({
      range: {
        sentAt: {
          ...(request.sentBefore !== undefined ? { lt: request.sentBefore } : {}),
          ...(request.sentAfter !== undefined ? { gt: request.sentAfter } : {}),
        },
      },
    });
  }
  if (request.hasAttachment !== undefined) filter.push({ term: { hasAttachment: request.hasAttachment } });
  return {
    index,
    size: request.limit + 1,
    track_total_hits: false,
    query: { bool: { must: request.groups.map(groupClause), filter } },
    sort: [{ _score: { order: 'desc' } }, { sentAt: { order: 'desc' } }, { messageId: { order: 'desc' } }],
    ...(request.cursor
      ? { search_after: [request.cursor.score, Date.parse(request.cursor.sentAt), request.cursor.messageId] }
      : {}),
  };
}

export interface ElasticsearchSearchOptions {
  /** The alias searched and written (indices are `<alias>-<n>`). */
  readonly alias?: string;
  readonly language?: EsLanguage;
  /** Writes wait until searchable (`wait_for`, the default: a stored checkpoint means visible), or not (a rebuild). */
  readonly refresh?: 'wait_for' | false;
}

export class ElasticsearchSearchIndex implements SearchIndex {
  readonly alias: string;
  private readonly language: EsLanguage;
  private readonly refreshMode: 'wait_for' | false;

  constructor(
    private readonly api: ElasticsearchApi,
    options: ElasticsearchSearchOptions = {},
    /** Where writes go: the alias, or a new index while a rebuild fills it. */
    private readonly writeTo?: string,
  ) {
    this.alias = options.alias ?? 'herald-messages';
    this.language = options.language ?? 'english';
    this.refreshMode = options.refresh ?? 'wait_for';
  }

  /** The template, and a first index behind the alias when there is none. */
  async ensure(): Promise<void> {
    await this.api.putIndexTemplate(indexTemplate(this.alias, this.language));
    if ((await this.api.aliasTargets(this.alias)).length === 0) {
      await this.api.createIndex({ index: `${this.alias}-1`, aliases: { [this.alias]: {} } });
    }
  }

  async write(changes: readonly SearchChange[]): Promise<void> {
    const index = this.writeTo ?? this.alias;
    // What this call wrote, so that an edit after a send in the same batch needs no read.
    const known = new Map<string, EsMessage>();
    let pending: EsMessage[] = [];
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      const response = await this.api.bulk({
        refresh: this.refreshMode,
        operations: pending.flatMap((m) => bulkIndex(index, m)),
      });
      pending = [];
      if (!response.errors) return;
      // 409: an equal or newer version is there already (a replay, or a late older write).
      const failed = response.items.flatMap((item) => Object.values(item)).filter((r) => r.error && r.status !== 409);
      if (failed.length > 0) throw new Error(`Elasticsearch bulk failed: ${JSON.stringify(failed[0]!.error)}`);
    };
    for (const change of changes) {
      if (change.kind === 'sent') {
        const m: EsMessage = { ...change.document, updatedSeq: change.document.seq, deleted: false };
        known.set(m.messageId, m);
        pending.push(m);
        continue;
      }
      let current = known.get(change.messageId);
      if (!current) {
        await flush();
        const got = await this.api.mget({ index, ids: [change.messageId] });
        const doc = got.docs[0];
        current = doc && 'found' in doc && doc.found ? doc._source : undefined;
      }
      if (!current || current.updatedSeq >= change.seq) continue;
      const next: EsMessage =
        change.kind === 'edited'
          ? { ...current, text: change.text, updatedSeq: change.seq }
          : { ...current, text: '', deleted: true, updatedSeq: change.seq };
      known.set(next.messageId, next);
      pending.push(next);
    }
    await flush();
  }

  async search(request: SearchRequest): Promise<SearchPage> {
    if (request.groups.length === 0 || request.scopes.length === 0) return { hits: [], nextCursor: null };
    const response = await this.api.search(searchRequest(this.alias, request));
    const hits = response.hits.hits.flatMap((h) => {
      const m = h._source;
      if (!m) return [];
      return [
        {
          conversationId: m.conversationId,
          messageId: m.messageId,
          seq: m.seq,
          senderId: m.senderId,
          sentAt: new Date(m.sentAt).toISOString(),
          hasAttachment: m.hasAttachment,
          snippet: highlight(m.text, request.groups),
          score: h._score ?? 0,
        },
      ];
    });
    const shown = hits.slice(0, request.limit);
    const last = shown[shown.length - 1];
    return {
      hits: shown,
      nextCursor:
        hits.length > request.limit && last
          ? { score: last.score, sentAt: last.sentAt, messageId: last.messageId }
          : null,
    };
  }

  /**
   * Rebuilds into a new index (`<alias>-<n+1>`): `fill` writes every change into it from
   * position 0 while the alias still serves the old one, then the alias moves in one
   * atomic request and the old index is left for the operator to delete.
   */
  async rebuild(fill: (into: ElasticsearchSearchIndex) => Promise<void>): Promise<string> {
    await this.api.putIndexTemplate(indexTemplate(this.alias, this.language));
    const old = await this.api.aliasTargets(this.alias);
    const generation = Math.max(0, ...old.map((name) => Number(/-(\d+)$/.exec(name)?.[1] ?? 0))) + 1;
    const next = `${this.alias}-${generation}`;
    await this.api.createIndex({ index: next });
    await fill(
      new ElasticsearchSearchIndex(this.api, { alias: this.alias, language: this.language, refresh: false }, next),
    );
    await this.api.refresh(next);
    await this.api.updateAliases(aliasSwap(this.alias, old, next));
    return next;
  }
}

/** Moves an alias from its indices to `next` in one atomic request. */
export function aliasSwap(alias: string, from: readonly string[], next: string): estypes.IndicesUpdateAliasesRequest {
  return {
    actions: [...from.map((index) => ({ remove: { index, alias } })), { add: { index: next, alias } }],
  };
}
