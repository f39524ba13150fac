/**
 * Timeline and inbox fold a whole batch at once (a fixed number of statements per batch),
 * and the serving runner (batches of ~500) and a rebuild (5,000) share that apply: so a
 * batch must leave exactly the rows its events leave applied one at a time, whatever the
 * interleaving (property-based). fast-check generates histories of two conversations —
 * sends and replies, edits, deletions (after edits, of replies, of messages deleted
 * already), reactions added and removed (repeated, re-added, ended by a deletion), read and
 * delivery markers (backwards and past the last seq included), joins, leaves, kicks, a
 * direct conversation started midway, ids spelled in capitals — and applies each three
 * ways: one event per transaction, in random batch splits, and the whole history as one
 * batch. Every table of both read models must be equal, row for row.
 *
 * CI: a fixed seed. A longer run with a random seed that is printed:
 * `HERALD_FUZZ_RUNS=400 npx vitest run projections/batches.property.int.spec.ts` (HERALD_FUZZ_SEED repeats one).
 */
import { migrateDatabase } from '@herald/database';
import { parseCheckpoint, type RecordedEvent } from '@herald/event-store';
import { streamIdOf, type CatalogueEvent } from '@herald/events';
import { createReadModelDataSource, PROJECTION_RUNTIME_MIGRATIONS, type Projection } from '@herald/projection-runtime';
import { freshDatabase } from '@herald/testing';
import fc from 'fast-check';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tablePrefix, type ReadModel } from './read-model.js';
import { inbox } from './inbox/index.js';
import { timeline } from './timeline/index.js';

// The one place this test reads the environment: the knobs of the longer run.
const FUZZ_RUNS = Number(process.env.HERALD_FUZZ_RUNS ?? 0);
const LONG_RUN = FUZZ_RUNS > 0;
const SEED = process.env.HERALD_FUZZ_SEED
  ? Number(process.env.HERALD_FUZZ_SEED)
  : LONG_RUN
    ? Math.floor(Math.random() * 2 ** 31)
    : 20261208;
const RUNS = LONG_RUN ? FUZZ_RUNS : 60;

const READ_MODELS: readonly ReadModel[] = [timeline, inbox];

/** Fixed ids (the tables are emptied between runs): a failure replays with the same rows. */
const uuid = (kind: number, n: number): string =>
  `${kind.toString(16).padStart(8, '0')}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const USERS = [0, 1, 2, 3, 4].map((n) => uuid(1, n));
const GROUP = uuid(2, 1);
const DIRECT = uuid(2, 2);
const EMOJI = ['👍', '🎉'];
const FILE = { url: 'https://files.example/a.png', name: 'a.png', mimeType: 'image/png', sizeBytes: 10 };

const KINDS = [
  'send',
  'send',
  'send',
  'reply',
  'edit',
  'edit',
  'delete',
  'react',
  'react',
  'unreact',
  'read',
  'read',
  'delivered',
  'join',
  'leave',
  'kick',
  'direct',
] as const;
const step = fc.record({
  kind: fc.constantFrom(...KINDS),
  a: fc.nat(99),
  b: fc.nat(99),
  c: fc.nat(99),
  d: fc.nat(99),
});
type Step = typeof step extends fc.Arbitrary<infer S> ? S : never;

/** The history the steps describe: a group from the start, a direct conversation when a step starts it. */
function history(steps: readonly Step[]): { stream: string; event: CatalogueEvent }[] {
  const out: { stream: string; event: CatalogueEvent }[] = [];
  const seqs = new Map<string, number>();
  const messages = new Map<string, string[]>([
    [GROUP, []],
    [DIRECT, []],
  ]);
  let direct = false;
  let next = 0;
  const add = (conversationId: string, event: CatalogueEvent): void => {
    out.push({ stream: streamIdOf('conversation', conversationId), event });
    seqs.set(conversationId, (seqs.get(conversationId) ?? -1) + 1);
  };
  add(GROUP, {
    type: 'GroupCreated',
    data: { conversationId: GROUP, ownerId: USERS[0]!, name: 'g', memberIds: [USERS[1]!, USERS[2]!] },
  });
  const user = (n: number): string => USERS[n % USERS.length]!;
  /** Sometimes an id in capitals: PostgreSQL compares uuids, not their spelling. */
  const spelled = (id: string, n: number): string => (n % 5 === 0 ? id.toUpperCase() : id);
  const mentions = (n: number, m: number) => ({
    userIds: USERS.filter((_, i) => (n >> i) & 1),
    all: m % 7 === 0,
  });
  for (const s of steps) {
    const conversationId = direct && s.a % 2 === 1 ? DIRECT : GROUP;
    const sent = messages.get(conversationId)!;
    const picked = sent.length > 0 ? sent[s.b % sent.length] : undefined;
    switch (s.kind) {
      case 'direct':
        if (direct) break;
        direct = true;
        add(DIRECT, {
          type: 'DirectConversationStarted',
          data: { conversationId: DIRECT, memberIds: [USERS[0]!, USERS[3]!] },
        });
        break;
      case 'send':
      case 'reply': {
        const messageId = uuid(3, next++);
        const replyTo = s.kind === 'reply' && sent.length > 0 ? sent[s.c % sent.length] : undefined;
        add(conversationId, {
          type: 'MessageSent',
          data: {
            conversationId,
            messageId,
            senderId: user(s.b),
            text: `m${next}`,
            ...(replyTo !== undefined ? { replyToMessageId: spelled(replyTo, s.d) } : {}),
            mentions: mentions(s.c, s.d),
            attachments: s.d % 3 === 0 ? [FILE] : [],
          },
        });
        sent.push(messageId);
        break;
      }
      case 'edit':
        if (picked === undefined) break;
        add(conversationId, {
          type: 'MessageEdited',
          data: { conversationId, messageId: spelled(picked, s.d), text: `e${s.c}`, mentions: mentions(s.c, s.d) },
        });
        break;
      case 'delete':
        if (picked === undefined) break;
        add(conversationId, {
          type: 'MessageDeleted',
          data: { conversationId, messageId: spelled(picked, s.d), deletedBy: user(s.c) },
        });
        break;
      case 'react':
      case 'unreact':
        if (picked === undefined) break;
        add(conversationId, {
          type: s.kind === 'react' ? 'ReactionAdded' : 'ReactionRemoved',
          data: { conversationId, messageId: spelled(picked, s.d), userId: user(s.c), emoji: EMOJI[s.d % 2]! },
        });
        break;
      case 'read':
      case 'delivered': {
        const userId = user(s.b);
        const upToSeq = s.c % ((seqs.get(conversationId) ?? 0) + 3);
        out.push({
          stream: streamIdOf('receipts', userId),
          event:
            s.kind === 'read'
              ? { type: 'ConversationRead', data: { userId, conversationId, upToSeq } }
              : { type: 'MessagesDelivered', data: { userId, conversationId, upToSeq } },
        });
        break;
      }
      case 'join':
        add(GROUP, { type: 'MemberJoined', data: { conversationId: GROUP, userId: user(s.b), via: 'link' } });
        break;
      case 'leave':
        add(GROUP, { type: 'MemberLeft', data: { conversationId: GROUP, userId: user(s.b) } });
        break;
      case 'kick':
        add(GROUP, { type: 'MemberKicked', data: { conversationId: GROUP, userId: user(s.b), kickedBy: USERS[0]! } });
        break;
      default: {
        const unhandled: never = s.kind;
        return unhandled;
      }
    }
  }
  return out;
}

function recorded(events: readonly { stream: string; event: CatalogueEvent }[]): RecordedEvent[] {
  const revisions = new Map<string, number>();
  return events.map(({ stream, event }, i) => {
    const revision = (revisions.get(stream) ?? -1) + 1;
    revisions.set(stream, revision);
    return {
      eventId: uuid(4, i),
      type: event.type,
      schemaVersion: 1,
      data: event.data,
      metadata: {
        actorId: USERS[0]!,
        correlationId: 'c',
        causationId: 'c',
        occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
      },
      streamId: stream,
      streamRevision: revision,
      globalPosition: parseCheckpoint(`${String(i + 1).padStart(16, '0')}-0000000000000000`),
      recordedAt: new Date(0),
    };
  });
}

/** What the runner gives a projection: the events its filter keeps, in batches. */
function mine(projection: Projection, events: readonly RecordedEvent[]): RecordedEvent[] {
  return events.filter(
    (e) =>
      (projection.filter?.streamPrefixes ?? ['']).some((p) => e.streamId.startsWith(p)) &&
      (!projection.filter?.eventTypes || projection.filter.eventTypes.includes(e.type)),
  );
}

async function applyIn(db: DataSource, batches: readonly (readonly RecordedEvent[])[]): Promise<void> {
  for (const readModel of READ_MODELS) {
    const projection = readModel.projection();
    for (const batch of batches) {
      const events = mine(projection, batch);
      if (events.length > 0) await db.transaction((manager) => projection.apply(events, manager));
    }
  }
}

async function tablesOf(db: DataSource): Promise<string[]> {
  const rows = await db.query<{ table_name: string }[]>(
    `SELECT table_name FROM information_schema.tables
      WHERE table_schema = current_schema() AND (starts_with(table_name, $1) OR starts_with(table_name, $2))
      ORDER BY table_name`,
    READ_MODELS.map(tablePrefix),
  );
  return rows.map((r) => r.table_name);
}

/** Every row of both read models' tables, in a stable order. */
async function dump(db: DataSource): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of await tablesOf(db))
    out[table] = await db.query(`SELECT * FROM ${table} t ORDER BY t::text COLLATE "C"`);
  return out;
}

let one: DataSource;
let split: DataSource;
let whole: DataSource;
beforeAll(async () => {
  const databases = await Promise.all(
    [0, 1, 2].map(async () => {
      const url = await freshDatabase();
      await migrateDatabase(url, [...PROJECTION_RUNTIME_MIGRATIONS, ...READ_MODELS.flatMap((m) => m.migrations)]);
      return createReadModelDataSource({ url, poolSize: 1 }).initialize();
    }),
  );
  [one, split, whole] = databases as [DataSource, DataSource, DataSource];
});
afterAll(async () => {
  await Promise.all([one, split, whole].map((db) => db?.destroy()));
});

describe('timeline and inbox: a batch leaves the rows its events leave one at a time', () => {
  it(
    `random histories, one event at a time, in random batch splits and as one batch (seed ${SEED})`,
    async () => {
      if (LONG_RUN) console.log(`fuzz: ${RUNS} runs, seed ${SEED} (HERALD_FUZZ_SEED=${SEED} repeats it)`);
      const tables = await tablesOf(one);
      expect(tables.length).toBe(8);
      let compared = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(step, { minLength: 1, maxLength: 70 }),
          fc.array(fc.boolean(), { maxLength: 70 }),
          async (steps, cuts) => {
            for (const db of [one, split, whole]) await db.query(`TRUNCATE ${tables.join(', ')}`);
            const events = recorded(history(steps));
            await applyIn(
              one,
              events.map((e) => [e]),
            );
            const batches: RecordedEvent[][] = [[]];
            events.forEach((e, i) => {
              batches[batches.length - 1]!.push(e);
              if (cuts[i]) batches.push([]);
            });
            await applyIn(split, batches);
            await applyIn(whole, [events]);
            const expected = await dump(one);
            expect(await dump(split)).toEqual(expected);
            expect(await dump(whole)).toEqual(expected);
            compared++;
          },
        ),
        { seed: SEED, numRuns: RUNS, endOnFailure: !LONG_RUN },
      );
      expect(compared).toBeGreaterThanOrEqual(RUNS);
    },
    60_000 + RUNS * 3_000,
  );
});
