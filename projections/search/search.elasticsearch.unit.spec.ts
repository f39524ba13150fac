/** The Elasticsearch adapter's requests, built and sent to a fake: no server needed. */
import type { estypes } from '@elastic/elasticsearch';
import { describe, expect, it } from 'vitest';
import { parseQuery } from './search.analysis.js';
import {
  aliasSwap,
  bulkIndex,
  ElasticsearchSearchIndex,
  groupClause,
  indexTemplate,
  scopeFilter,
  searchRequest,
  type ElasticsearchApi,
  type EsMessage,
} from './search.elasticsearch.js';

const C = '00000000-0000-4000-8000-000000000001';
const D = '00000000-0000-4000-8000-000000000002';
const M = '00000000-0000-4000-8000-0000000000aa';
const U = '00000000-0000-4000-8000-0000000000bb';
const message: EsMessage = {
  conversationId: C,
  messageId: M,
  seq: 3,
  senderId: U,
  sentAt: '2026-01-01T00:00:00.000Z',
  hasAttachment: false,
  text: 'hello',
  updatedSeq: 3,
  deleted: false,
};

/** A fake that records every request and answers as a server would. */
function fakeApi(stored: EsMessage[] = [], bulkItems: estypes.BulkResponseItem[] = []) {
  const calls: { method: string; request: unknown }[] = [];
  const record = (method: string, request: unknown): Promise<void> => {
    calls.push({ method, request });
    return Promise.resolve();
  };
  const api: ElasticsearchApi = {
    putIndexTemplate: (request) => record('putIndexTemplate', request),
    createIndex: (request) => record('createIndex', request),
    aliasTargets: () => Promise.resolve(['herald-messages-1']),
    updateAliases: (request) => record('updateAliases', request),
    refresh: (request) => record('refresh', request),
    bulk: (request) => {
      calls.push({ method: 'bulk', request });
      return Promise.resolve({ errors: bulkItems.length > 0, items: bulkItems.map((i) => ({ index: i })), took: 1 });
    },
    mget: (request) => {
      calls.push({ method: 'mget', request });
      const ids = (request as { ids: string[] }).ids;
      return Promise.resolve({
        docs: ids.map((id) => {
          const found = stored.find((m) => m.messageId === id);
          return found
            ? { _index: 'herald-messages-1', _id: id, found: true, _source: found }
            : { _index: 'herald-messages-1', _id: id, found: false };
        }),
      });
    },
    search: (request) => {
      calls.push({ method: 'search', request });
      return Promise.resolve({
        took: 1,
        timed_out: false,
        _shards: { total: 1, successful: 1, failed: 0 },
        hits: { hits: stored.map((m) => ({ _index: 'i', _id: m.messageId, _score: 1.5, _source: m })) },
      });
    },
  };
  return { api, calls };
}

describe('Elasticsearch adapter requests', () => {
  it('declares mappings and CJK-aware analyzers from built-in filters only', () => {
    const t = indexTemplate('herald-messages', 'english');
    expect(t.index_patterns).toEqual(['herald-messages-*']);
    const analysis = t.template!.settings!.analysis!;
    expect(analysis.analyzer!.herald_text).toEqual({
      type: 'custom',
      tokenizer: 'standard',
      filter: ['cjk_width', 'lowercase', 'asciifolding', 'cjk_bigram'],
    });
    expect(analysis.filter!.herald_stemmer).toEqual({ type: 'stemmer', language: 'english' });
    const properties = t.template!.mappings!.properties!;
    expect(properties.conversationId).toEqual({ type: 'keyword' });
    expect(properties.updatedSeq).toEqual({ type: 'long' });
    expect(properties.text).toMatchObject({
      type: 'text',
      analyzer: 'herald_text',
      fields: { unigram: { analyzer: 'herald_unigram' }, stemmed: { analyzer: 'herald_stemmed' } },
    });
    expect(t.template!.mappings!.dynamic).toBe('strict');
  });

  it('indexes with external versions from the seq of the change', () => {
    expect(bulkIndex('herald-messages', message)).toEqual([
      { index: { _index: 'herald-messages', _id: M, version: 3, version_type: 'external' } },
      message,
    ]);
  });

  it('asks with match clauses built from parsed groups, never query_string', () => {
    const [word, phrase, cjk] = parseQuery('reli "exact words" 可靠');
    expect(groupClause(word!)).toEqual({
      bool: {
        should: [{ match_phrase_prefix: { text: { query: 'reli' } } }, { match: { 'text.stemmed': 'reli' } }],
        minimum_should_match: 1,
      },
    });
    expect(groupClause(phrase!)).toEqual({
      bool: {
        should: [{ match_phrase: { text: 'exact words' } }, { match_phrase: { 'text.unigram': 'exact words' } }],
        minimum_should_match: 1,
      },
    });
    expect(groupClause(cjk!)).toMatchObject({ bool: { should: [{ match_phrase: { text: '可靠' } }, {}] } });
    const hostile = searchRequest('a', {
      groups: parseQuery('{"query_string":{"query":"*"}} OR 1=1 \\ :*'),
      scopes: [{ conversationId: C, leftSeq: null }],
      limit: 20,
    });
    expect(JSON.stringify(hostile)).not.toContain('query_string"');
    expect(JSON.stringify(hostile)).not.toMatch(/"(wildcard|regexp|simple_query_string|script)"/);
  });

  it('filters by the spans the caller may read: whole conversations, or up to a leaving', () => {
    expect(
      scopeFilter([
        { conversationId: C, leftSeq: null },
        { conversationId: D, leftSeq: 7 },
      ]),
    ).toEqual({
      bool: {
        should: [
          { terms: { conversationId: [C] } },
          {
            bool: {
              filter: [
                { term: { conversationId: D } },
                { range: { seq: { lte: 7 } } },
                { range: { updatedSeq: { lte: 7 } } },
              ],
            },
          },
        ],
        minimum_should_match: 1,
      },
    });
  });

  it('pages by search_after on score, time sent and message id, with the filters', () => {
    const request = searchRequest('herald-messages', {
      groups: parseQuery('hello'),
      scopes: [{ conversationId: C, leftSeq: null }],
      senderId: U,
      sentBefore: '2026-02-01T00:00:00Z',
      sentAfter: '2026-01-01T00:00:00Z',
      hasAttachment: true,
      limit: 20,
      cursor: { score: 1.5, sentAt: '2026-01-01T00:00:00.000Z', messageId: M },
    });
    expect(request.size).toBe(21);
    expect(request.sort).toEqual([
      { _score: { order: 'desc' } },
      { sentAt: { order: 'desc' } },
      { messageId: { order: 'desc' } },
    ]);
    expect(request.search_after).toEqual([1.5, Date.parse('2026-01-01T00:00:00.000Z'), M]);
    const filter = (request.query as { bool: { filter: unknown[] } }).bool.filter;
    expect(filter).toContainEqual({ term: { deleted: false } });
    expect(filter).toContainEqual({ term: { senderId: U } });
    expect(filter).toContainEqual({ term: { hasAttachment: true } });
    expect(filter).toContainEqual({ range: { sentAt: { lt: '2026-02-01T00:00:00Z', gt: '2026-01-01T00:00:00Z' } } });
  });

  it('writes sends, edits over what is stored and deletions as versioned tombstones', async () => {
    const { api, calls } = fakeApi([message]);
    const index = new ElasticsearchSearchIndex(api);
    await index.write([
      { kind: 'edited', messageId: M, seq: 5, text: 'edited' },
      { kind: 'edited', messageId: M, seq: 4, text: 'older, skipped' },
      { kind: 'deleted', messageId: M, seq: 6 },
    ]);
    expect(calls.map((c) => c.method)).toEqual(['mget', 'bulk']);
    const bulk = calls[1]!.request as estypes.BulkRequest;
    expect(bulk.refresh).toBe('wait_for');
    expect(bulk.operations).toEqual([
      { index: { _index: 'herald-messages', _id: M, version: 5, version_type: 'external' } },
      { ...message, text: 'edited', updatedSeq: 5 },
      { index: { _index: 'herald-messages', _id: M, version: 6, version_type: 'external' } },
      { ...message, text: '', deleted: true, updatedSeq: 6 },
    ]);
  });

  it('ignores version conflicts (a replay or a late older write) and fails on any other error', async () => {
    const conflict = { status: 409, _index: 'i', error: { type: 'version_conflict_engine_exception', reason: 'x' } };
    await new ElasticsearchSearchIndex(fakeApi([], [conflict]).api).write([{ kind: 'sent', document: { ...message } }]);
    const broken = { status: 400, _index: 'i', error: { type: 'mapper_parsing_exception', reason: 'x' } };
    await expect(
      new ElasticsearchSearchIndex(fakeApi([], [broken]).api).write([{ kind: 'sent', document: { ...message } }]),
    ).rejects.toThrow(/mapper_parsing_exception/);
  });

  it('rebuilds into the next index and swaps the alias in one request', async () => {
    const { api, calls } = fakeApi();
    const index = new ElasticsearchSearchIndex(api);
    const built = await index.rebuild(async (into) => {
      await into.write([{ kind: 'sent', document: { ...message } }]);
    });
    expect(built).toBe('herald-messages-2');
    const bulk = calls.find((c) => c.method === 'bulk')!.request as estypes.BulkRequest;
    expect(bulk.refresh).toBe(false);
    expect(bulk.operations![0]).toEqual({
      index: { _index: 'herald-messages-2', _id: M, version: 3, version_type: 'external' },
    });
    expect(calls.at(-1)).toEqual({
      method: 'updateAliases',
      request: aliasSwap('herald-messages', ['herald-messages-1'], 'herald-messages-2'),
    });
    expect(aliasSwap('a', ['a-1'], 'a-2')).toEqual({
      actions: [{ remove: { index: 'a-1', alias: 'a' } }, { add: { index: 'a-2', alias: 'a' } }],
    });
  });

  it('answers hits with snippets and the cursor of the last one', async () => {
    const { api } = fakeApi([message, { ...message, messageId: U }]);
    const page = await new ElasticsearchSearchIndex(api).search({
      groups: parseQuery('hello'),
      scopes: [{ conversationId: C, leftSeq: null }],
      limit: 1,
    });
    expect(page.hits).toEqual([
      {
        conversationId: C,
        messageId: M,
        seq: 3,
        senderId: U,
        sentAt: '2026-01-01T00:00:00.000Z',
        hasAttachment: false,
        snippet: '<mark>hello</mark>',
        score: 1.5,
      },
    ]);
    expect(page.nextCursor).toEqual({ score: 1.5, sentAt: '2026-01-01T00:00:00.000Z', messageId: M });
  });
});
