/** The search contract against PostgreSQL: always run (the suite's embedded server, created from scratch with LC_CTYPE C). */
import { migrateDatabase } from '@herald/database';
import { createReadModelDataSource, PROJECTION_RUNTIME_MIGRATIONS } from '@herald/projection-runtime';
import { freshDatabase } from '@herald/testing';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseQuery } from './search.analysis.js';
import { describeSearchContract } from './search.contract.js';
import { SEARCH_MIGRATIONS } from './search.migrations.js';
import { PostgresSearchIndex } from './search.postgres.js';
import type { SearchCursor, SearchScope } from './search.port.js';

let db: DataSource | undefined;
let bounded: DataSource | undefined;
afterAll(async () => {
  await db?.destroy();
  await bounded?.destroy();
});

describeSearchContract('PostgreSQL', async () => {
  const url = await freshDatabase();
  await migrateDatabase(url, [...PROJECTION_RUNTIME_MIGRATIONS, ...SEARCH_MIGRATIONS]);
  db = await createReadModelDataSource({ url, poolSize: 2 }).initialize();
  return new PostgresSearchIndex(db, 'english');
});

describe('PostgreSQL: the bounded candidates', () => {
  const CANDIDATES = 5;
  let index: PostgresSearchIndex;
  beforeAll(async () => {
    const url = await freshDatabase();
    await migrateDatabase(url, [...PROJECTION_RUNTIME_MIGRATIONS, ...SEARCH_MIGRATIONS]);
    bounded = await createReadModelDataSource({ url, poolSize: 2 }).initialize();
    index = new PostgresSearchIndex(bounded, 'english', false, CANDIDATES);
  });

  /** `count` messages holding `word`, a minute apart; the i-th `word` repeated i % 3 + 1 times (scores differ). */
  async function conversation(count: number, word = 'bounded'): Promise<{ c: string; ids: string[] }> {
    const c = randomUUID();
    const docs = Array.from({ length: count }, (_, i) => ({
      kind: 'sent' as const,
      document: {
        conversationId: c,
        messageId: randomUUID(),
        seq: i + 1,
        senderId: randomUUID(),
        sentAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
        hasAttachment: false,
        text: `${`${word} `.repeat((i % 3) + 1)}number ${i}`,
      },
    }));
    await index.write(docs);
    return { c, ids: docs.map((d) => d.document.messageId) };
  }
  const all = (c: string): SearchScope[] => [{ conversationId: c, leftSeq: null }];

  async function pages(scopes: SearchScope[], limit: number, q = 'bounded', more: object = {}): Promise<string[]> {
    const seen: string[] = [];
    let cursor: SearchCursor | undefined;
    do {
      const page = await index.search({ groups: parseQuery(q), scopes, limit, ...more, ...(cursor ? { cursor } : {}) });
      seen.push(...page.hits.map((h) => h.messageId));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return seen;
  }

  it('ranks only the newest matches, pages through exactly them, and reaches older ones by sentBefore', async () => {
    const { c, ids } = await conversation(12);
    const newest = ids.slice(-CANDIDATES);
    const first = await index.search({ groups: parseQuery('bounded'), scopes: all(c), limit: 20 });
    expect(first.hits.map((h) => h.messageId).sort()).toEqual([...newest].sort());
    // Ranked among themselves: the best score first.
    const scores = first.hits.map((h) => h.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    const seen = await pages(all(c), 2);
    expect(seen).toHaveLength(CANDIDATES);
    expect([...seen].sort()).toEqual([...newest].sort());
    // Older matches: by sentBefore, the next newest five.
    const older = await pages(all(c), 2, 'bounded', { sentBefore: new Date(Date.UTC(2026, 0, 1, 0, 7)).toISOString() });
    expect([...older].sort()).toEqual(ids.slice(2, 7).sort());
    // The same through the plan for many conversations (past 100 scopes without counts: the GIN index or the walk by time).
    const many = [...all(c), ...Array.from({ length: 150 }, () => all(randomUUID())[0]!)];
    expect(await pages(many, 2)).toEqual(seen);
  });

  it('pages consistently while newer matches arrive: the first page’s candidates, then what was sent since', async () => {
    const { c, ids } = await conversation(8);
    const first = await index.search({ groups: parseQuery('bounded'), scopes: all(c), limit: 2 });
    expect(first.nextCursor?.floor).toBeDefined();
    // Three newer matches arrive: a later page still ranks the first page's candidates (none lost).
    await index.write(
      Array.from({ length: 3 }, (_, i) => ({
        kind: 'sent' as const,
        document: {
          conversationId: c,
          messageId: randomUUID(),
          seq: 9 + i,
          senderId: randomUUID(),
          sentAt: new Date(Date.UTC(2026, 0, 1, 1, i)).toISOString(),
          hasAttachment: false,
          text: 'bounded late',
        },
      })),
    );
    const seen = [...first.hits.map((h) => h.messageId)];
    let cursor = first.nextCursor ?? undefined;
    while (cursor) {
      const page = await index.search({ groups: parseQuery('bounded'), scopes: all(c), limit: 2, cursor });
      seen.push(...page.hits.map((h) => h.messageId));
      cursor = page.nextCursor ?? undefined;
    }
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of ids.slice(-CANDIDATES)) expect(seen).toContain(id);
    for (const id of ids.slice(0, -CANDIDATES)) expect(seen).not.toContain(id);
  });

  it('keeps to the spans: the newest matches a member who left may read, not the newest of the conversation', async () => {
    const { c, ids } = await conversation(12);
    const seen = await pages([{ conversationId: c, leftSeq: 6 }], 2);
    expect([...seen].sort()).toEqual(ids.slice(1, 6).sort());
    const many = [{ conversationId: c, leftSeq: 6 }, ...Array.from({ length: 150 }, () => all(randomUUID())[0]!)];
    expect(await pages(many, 2)).toEqual(seen);
  });

  it('on the plan for many conversations, a phrase keeps to the spans and to the version standing at a leaving', async () => {
    // Over 100 scopes without counts: the statement for many messages, where a phrase is asked
    // of the GIN index as its words and tested as a phrase only on the rows of the spans.
    const [c, other] = [randomUUID(), randomUUID()];
    const send = (conversationId: string, seq: number, text: string) => ({
      kind: 'sent' as const,
      document: {
        conversationId,
        messageId: randomUUID(),
        seq,
        senderId: randomUUID(),
        sentAt: new Date(Date.UTC(2026, 1, 1, 0, seq)).toISOString(),
        hasAttachment: false,
        text,
      },
    });
    const kept = send(c, 1, 'quarterly 报告可靠 plan review');
    const edited = send(c, 2, 'quarterly plan draft 报告可靠');
    const later = send(c, 5, 'quarterly plan later 报告可靠');
    const elsewhere = send(other, 1, 'quarterly plan review 报告可靠');
    await index.write([kept, edited, later, elsewhere]);
    await index.write([{ kind: 'edited', messageId: edited.document.messageId, seq: 4, text: 'nothing of it' }]);
    const others = Array.from({ length: 150 }, () => all(randomUUID())[0]!);
    const find = async (q: string, leftSeq: number | null): Promise<string[]> =>
      (
        await index.search({ groups: parseQuery(q), scopes: [{ conversationId: c, leftSeq }, ...others], limit: 20 })
      ).hits
        .map((h) => h.messageId)
        .sort();
    const id = (d: { document: { messageId: string } }): string => d.document.messageId;
    // Left at seq 3: the versions standing then, nothing sent after, nothing elsewhere.
    expect(await find('"quarterly plan"', 3)).toEqual([id(edited)]);
    expect(await find('"plan review"', 3)).toEqual([id(kept)]);
    expect(await find('报告可靠', 3)).toEqual([id(kept), id(edited)].sort());
    expect(await find('"review plan"', 3)).toEqual([]);
    // A member now: the current versions.
    expect(await find('"quarterly plan"', null)).toEqual([id(later)]);
    expect(await find('报告可靠', null)).toEqual([id(kept), id(later)].sort());
  });

  it('the bound counts over every conversation in the spans, newest first across them', async () => {
    const [a, b] = [await conversation(4, 'across'), await conversation(4, 'across')];
    const scopes = [...all(a.c), ...all(b.c)];
    const seen = await pages(scopes, 3, 'across');
    // Both sent a minute apart from the same minute: the newest five are the last two or three of each.
    expect(seen).toHaveLength(CANDIDATES);
    expect(seen).toContain(a.ids[3]);
    expect(seen).toContain(b.ids[3]);
    expect(seen).not.toContain(a.ids[0]);
    expect(seen).not.toContain(b.ids[0]);
  });
});
