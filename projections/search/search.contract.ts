/**
 * The search port's contract, written once and run against every adapter
 * (search.postgres.int.spec.ts, search.elasticsearch.int.spec.ts). An adapter whose server
 * is not available passes `skipReason`: the suite is reported as skipped with it, never
 * as passed. Each case writes its own conversations (fresh ids), so adapters share an index.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseQuery } from './search.analysis.js';
import type { SearchChange, SearchDocument, SearchIndex, SearchPage, SearchScope } from './search.port.js';

export function describeSearchContract(
  adapter: string,
  newIndex: () => Promise<SearchIndex>,
  skipReason?: string,
): void {
  if (skipReason) console.warn(`[search contract] ${adapter}: skipped: ${skipReason}`);
  describe.skipIf(skipReason !== undefined)(
    `search contract: ${adapter}${skipReason ? ` (skipped: ${skipReason})` : ''}`,
    () => {
      let index: SearchIndex;
      beforeAll(async () => {
        index = await newIndex();
      });

      const sender = randomUUID();
      let minute = 0;
      const doc = (
        conversationId: string,
        seq: number,
        text: string,
        more: Partial<SearchDocument> = {},
      ): SearchChange => ({
        kind: 'sent',
        document: {
          conversationId,
          messageId: randomUUID(),
          seq,
          senderId: sender,
          sentAt: new Date(Date.UTC(2026, 0, 1, 0, minute++)).toISOString(),
          hasAttachment: false,
          text,
          ...more,
        },
      });
      const idOf = (change: SearchChange): string =>
        change.kind === 'sent' ? change.document.messageId : change.messageId;
      const find = (q: string, scopes: SearchScope[], more: { limit?: number } = {}): Promise<SearchPage> =>
        index.search({ groups: parseQuery(q), scopes, limit: more.limit ?? 20 });
      const ids = (page: SearchPage): string[] => page.hits.map((h) => h.messageId).sort();
      const all = (c: string): SearchScope[] => [{ conversationId: c, leftSeq: null }];

      it('finds words, prefixes, accents folded, case ignored', async () => {
        const c = randomUUID();
        const [a, b, x] = [
          doc(c, 1, 'The Reliability of message delivery'),
          doc(c, 2, 'Un café crème, s’il vous plaît'),
          doc(c, 3, 'nothing to see'),
        ];
        await index.write([a, b, x]);
        expect(ids(await find('reliability', all(c)))).toEqual([idOf(a)]);
        expect(ids(await find('RELIAB', all(c)))).toEqual([idOf(a)]);
        expect(ids(await find('cafe', all(c)))).toEqual([idOf(b)]);
        expect(ids(await find('CAFÉ crème', all(c)))).toEqual([idOf(b)]);
        expect(ids(await find('message reliability', all(c)))).toEqual([idOf(a)]);
        expect(ids(await find('message unicorn', all(c)))).toEqual([]);
      });

      it('finds phrases only in their order', async () => {
        const c = randomUUID();
        const [a, b] = [doc(c, 1, 'delivery is reliable now'), doc(c, 2, 'reliable is the delivery')];
        await index.write([a, b]);
        expect(ids(await find('"delivery is reliable"', all(c)))).toEqual([idOf(a)]);
        expect(ids(await find('delivery reliable', all(c)))).toEqual([idOf(a), idOf(b)].sort());
      });

      it('finds CJK substrings: Chinese, Japanese, Korean, and mixed scripts', async () => {
        const c = randomUUID();
        const [zh, ja, ko, mixed] = [
          doc(c, 1, '我们的消息可靠性保障非常重要'),
          doc(c, 2, 'メッセージの信頼性を確認してください'),
          doc(c, 3, '메시지 신뢰성 보장이 중요합니다'),
          doc(c, 4, '新的iPhone用户很多'),
        ];
        await index.write([zh, ja, ko, mixed]);
        expect(ids(await find('消息', all(c)))).toEqual([idOf(zh)]);
        expect(ids(await find('可靠', all(c)))).toEqual([idOf(zh)]);
        expect(ids(await find('消息可靠性保障', all(c)))).toEqual([idOf(zh)]);
        expect(ids(await find('信頼性', all(c)))).toEqual([idOf(ja)]);
        expect(ids(await find('メッセージ', all(c)))).toEqual([idOf(ja)]);
        expect(ids(await find('신뢰', all(c)))).toEqual([idOf(ko)]);
        expect(ids(await find('iphone 用户', all(c)))).toEqual([idOf(mixed)]);
        expect(ids(await find('可保', all(c)))).toEqual([]);
      });

      it('answers snippets with the match marked and the text HTML-escaped', async () => {
        const c = randomUUID();
        await index.write([doc(c, 1, '<b>Alert</b> & the reliability "test"'), doc(c, 2, '请确认消息可靠性')]);
        const [hit] = (await find('reliability', all(c))).hits;
        expect(hit!.snippet).toBe('&lt;b&gt;Alert&lt;/b&gt; &amp; the <mark>reliability</mark> &quot;test&quot;');
        const [cjk] = (await find('可靠', all(c))).hits;
        expect(cjk!.snippet).toBe('请确认消息<mark>可靠</mark>性');
      });

      it('ranks better matches first and pages by keyset without loss or repeat', async () => {
        const c = randomUUID();
        const changes = Array.from({ length: 7 }, (_, i) =>
          doc(c, i + 1, i === 3 ? 'search search search engine' : `search number ${i}`),
        );
        await index.write(changes);
        const first = await find('search', all(c), { limit: 3 });
        expect(first.hits[0]!.messageId).toBe(idOf(changes[3]!));
        const seen = [...first.hits.map((h) => h.messageId)];
        let cursor = first.nextCursor;
        while (cursor) {
          const page = await index.search({ groups: parseQuery('search'), scopes: all(c), limit: 3, cursor });
          seen.push(...page.hits.map((h) => h.messageId));
          cursor = page.nextCursor;
        }
        expect(seen.sort()).toEqual(changes.map(idOf).sort());
      });

      it('filters by conversation, sender, time sent and attachments', async () => {
        const [c, d] = [randomUUID(), randomUUID()];
        const other = randomUUID();
        const [a, b, e] = [
          doc(c, 1, 'filter me'),
          doc(c, 2, 'filter me', { senderId: other, hasAttachment: true }),
          doc(d, 1, 'filter me'),
        ];
        await index.write([a, b, e]);
        const scopes = [...all(c), ...all(d)];
        const q = parseQuery('filter');
        const page = (more: object): Promise<SearchPage> => index.search({ groups: q, scopes, limit: 20, ...more });
        expect(ids(await page({}))).toEqual([idOf(a), idOf(b), idOf(e)].sort());
        expect(ids(await page({ conversationId: d }))).toEqual([idOf(e)]);
        expect(ids(await page({ senderId: other }))).toEqual([idOf(b)]);
        expect(ids(await page({ hasAttachment: true }))).toEqual([idOf(b)]);
        const sentAtB = b.kind === 'sent' ? b.document.sentAt : '';
        expect(ids(await page({ sentBefore: sentAtB, conversationId: c }))).toEqual([idOf(a)]);
        expect(ids(await page({ sentAfter: sentAtB }))).toEqual([idOf(e)]);
        expect(ids(await page({ conversationId: randomUUID() }))).toEqual([]);
      });

      it('finds nothing outside the scopes, nor after a leaving', async () => {
        const [c, d] = [randomUUID(), randomUUID()];
        const [before, after, elsewhere] = [
          doc(c, 1, 'secret plan'),
          doc(c, 5, 'secret plan'),
          doc(d, 1, 'secret plan'),
        ];
        await index.write([before, after, elsewhere]);
        expect(ids(await find('secret', [{ conversationId: c, leftSeq: 3 }]))).toEqual([idOf(before)]);
        expect(ids(await find('secret', []))).toEqual([]);
      });

      it('edits re-index, deletions remove, and an older change never overwrites a newer one', async () => {
        const c = randomUUID();
        const sent = doc(c, 1, 'first draft');
        const id = idOf(sent);
        await index.write([sent]);
        await index.write([{ kind: 'edited', messageId: id, seq: 3, text: 'final version' }]);
        // Late and older: refused.
        await index.write([{ kind: 'edited', messageId: id, seq: 2, text: 'middle draft' }]);
        expect(ids(await find('final', all(c)))).toEqual([id]);
        expect(ids(await find('draft', all(c)))).toEqual([]);
        // A replay of everything changes nothing.
        await index.write([sent, { kind: 'edited', messageId: id, seq: 3, text: 'final version' }]);
        expect(ids(await find('final', all(c)))).toEqual([id]);
        await index.write([{ kind: 'deleted', messageId: id, seq: 4 }]);
        expect(ids(await find('final', all(c)))).toEqual([]);
        await index.write([{ kind: 'edited', messageId: id, seq: 3, text: 'final version' }, sent]);
        expect(ids(await find('final', all(c)))).toEqual([]);
      });

      it('never reads query text as syntax, whatever it holds', async () => {
        const c = randomUUID();
        await index.write([doc(c, 1, "don't panic: a & b | !c <-> d:* \\ 'quoted'")]);
        const hostile = [
          "'",
          '"',
          '""',
          '\\',
          '&|!():*<->',
          "a:* & !b | 'c'",
          '*',
          'OR AND NOT',
          '\u0000',
          '\uD800',
          '\u200F\u202E',
          '😀🎉',
          '{"query":{"match_all":{}}}',
          '%_%',
          'x'.repeat(256),
        ];
        for (const q of hostile) await expect(find(q, all(c))).resolves.toBeDefined();
        expect((await find('panic', all(c))).hits).toHaveLength(1);
        expect((await find('quoted', all(c))).hits).toHaveLength(1);
        expect((await find('*', all(c))).hits).toHaveLength(0);
      });
    },
  );
}
