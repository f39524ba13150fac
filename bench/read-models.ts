/**
 * `npm run bench:read-models`: the read models' queries and writes as Herald runs them
 * (SQL whose rows `select()` checks against a zod schema, projections/sql.ts) against the
 * same work through TypeORM's entities, repositories and query builder (ADR 011, "Typed
 * rows"). Both go through one TypeORM DataSource of one connection, on the tables the
 * registry's migrations make; the entity schemas are the folders' `*.entities.ts`.
 *
 * Setup (not measured), on a fresh embedded PostgreSQL (or DATABASE_URL): the migrations
 * of the registry, then the read models filled through their own projections' apply:
 * BENCH_USERS users (3,000), BENCH_GROUPS groups (1,000) of 8 members, BENCH_MESSAGES
 * messages (100,000): half in 10 busy conversations, half spread over the others, a fifth
 * of the busy conversations' messages with 1 to 3 reactions. Then VACUUM ANALYZE.
 *
 * Scenarios, each with its variants, the first being what Herald runs:
 * - a point read: a member's row by its key (`memberAccess`, two columns), against
 *   `Repository.findOneBy` (the entity's whole row) and `findOne` selecting the same two
 *   columns; and a directory user by name (`usersNamed`, five of six columns), against
 *   `findOneBy`;
 * - a keyset page of 50 messages of a busy conversation before a random seq
 *   (`timelinePage`, one statement that also aggregates the reactions), against the query
 *   builder's `getMany()` on the message entity plus one on the reaction entity (TypeORM
 *   maps no json aggregate onto an entity), grouped in JavaScript to the same answer;
 * - the projection's write of a batch of 500 sends (`timelineProjection().apply`: one
 *   `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING`), against the same apply
 *   with its write done by `Repository.insert(array)` (one multi-row INSERT that returns
 *   the columns with defaults into the entities), by the query builder's insert with
 *   `orIgnore()` and `updateEntity(false)` (the idempotent one a projection needs, a
 *   replayed event must change nothing, and without the RETURNING), and by
 *   `Repository.save(array)` (a SELECT of the batch's keys, then the INSERT); each batch
 *   in a transaction. Every variant reads the events through the catalogue (`eachEvent`),
 *   as the projection does, so the variants differ only in their write. The batches hold
 *   no replies, so the projection's second statement (reply counts), which none of the
 *   others does, does not run.
 *
 * Before measuring, the statements TypeORM's schema builder would run to make the tables
 * match the entity schemas are printed (what the entities and the migrations disagree on),
 * and each read variant's answers are checked equal to Herald's on the same keys; after,
 * that every write variant wrote every row.
 *
 * Measurement: BENCH_ROUNDS rounds (8) after one warm-up round; in each round every
 * variant of a scenario runs one window of a fixed number of operations on the same keys,
 * one after the other (A B C, then C B A in the next round, so that none always runs
 * first), so that the machine's drift falls on all of them alike. Per window:
 * operations a second (one at a time: this is the cost of an operation, not a throughput
 * under concurrency), CPU of this Node process per operation (process.cpuUsage: user and
 * system, every thread), and CPU of the PostgreSQL backend serving the connection per
 * operation (from /proc, when PostgreSQL runs on this machine; 10 ms ticks). Reported: the
 * median of the rounds for each variant, and the median of the rounds' ratios to Herald's
 * variant (the figure that counts on a shared, noisy machine). The last line is one JSON
 * object with all of them.
 *
 * Environment: BENCH_ROUNDS (8), BENCH_USERS, BENCH_GROUPS, BENCH_MESSAGES, DATABASE_URL.
 */
import { configFromProcess } from '@herald/config';
import { migrateDatabase } from '@herald/database';
import { encodeCheckpoint, type RecordedEvent } from '@herald/event-store';
import { streamIdOf, type EventIn } from '@herald/events';
import { createReadModelDataSource, PROJECTION_RUNTIME_MIGRATIONS, type Projection } from '@herald/projection-runtime';
import {
  directoryProjection,
  DirectoryUserEntity,
  eachEvent,
  memberAccess,
  MemberEntity,
  membershipProjection,
  readModelMigrations,
  select,
  timelinePage,
  timelineProjection,
  TimelineMessageEntity,
  TimelineReactionEntity,
  usersNamed,
  type DirectoryProfile,
  type MemberAccess,
  type Sent,
  type TimelineMessage,
  type TimelineMessageEntityRow,
} from '@herald/projections';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { In, type DataSource, type EntityManager } from 'typeorm';
import { z } from 'zod';
import { benchDatabase, machine, median, round, seededRandom } from './report.js';

const env = process.env;
const ROUNDS = Number(env.BENCH_ROUNDS ?? 8);
const USERS = Number(env.BENCH_USERS ?? 3_000);
const GROUPS = Number(env.BENCH_GROUPS ?? 1_000);
const MESSAGES = Number(env.BENCH_MESSAGES ?? 100_000);
const GROUP_SIZE = 8;
const BUSY = 10;
const PAGE = 50;
const WRITE_BATCH = 500;
/** Conversations the write scenario appends to (none of the read scenarios reads them). */
const WRITE_CONVERSATIONS = 50;
/** Operations per window: about a second each on a current machine. */
const POINT_READS = 2_000;
const PAGES = 400;
const BATCHES = 12;
const EPOCH = Date.parse('2026-01-01T00:00:00Z');

// ---------------------------------------------------------------- setup

const pick = <T>(items: readonly T[], next: () => number): T => items[Math.floor(next() * items.length)]!;

let position = 0n;
/** An event as the store would hand it to a projection. */
function recorded(streamId: string, revision: number, type: string, data: unknown, actorId: string): RecordedEvent {
  const at = new Date(EPOCH + Number(position) * 1_000);
  position++;
  return {
    eventId: randomUUID(),
    type,
    schemaVersion: 1,
    data,
    metadata: { actorId, correlationId: randomUUID(), causationId: randomUUID(), occurredAt: at.toISOString() },
    streamId,
    streamRevision: revision,
    globalPosition: encodeCheckpoint(0n, position),
    recordedAt: at,
  };
}

const WORDS = 'the quick brown fox jumps over a lazy dog while we meet at noon for lunch and review the plan'.split(
  ' ',
);

/** A MessageSent as a member would send it: a few to thirty words, now and then a mention or a file. */
function sent(conversationId: string, seq: number, members: readonly string[], next: () => number): RecordedEvent {
  const senderId = pick(members, next);
  const text = Array.from({ length: 3 + Math.floor(next() * 28) }, () => pick(WORDS, next)).join(' ');
  const data: Sent['data'] = {
    conversationId,
    messageId: randomUUID(),
    senderId,
    text,
    mentions: { userIds: next() < 0.1 ? [pick(members, next)] : [], all: false },
    attachments:
      next() < 0.05
        ? [
            {
              url: `https://files.example/${randomUUID()}`,
              name: 'photo.jpg',
              mimeType: 'image/jpeg',
              sizeBytes: 48_213,
            },
          ]
        : [],
  };
  return recorded(streamIdOf('conversation', conversationId), seq, 'MessageSent', data, senderId);
}

/** Applies events through a projection, a transaction per `size` events, as its runner would. */
async function applyAll(db: DataSource, projection: Projection, events: readonly RecordedEvent[], size = 500) {
  for (let i = 0; i < events.length; i += size) {
    await db.transaction((m) => projection.apply(events.slice(i, i + size), m));
  }
}

interface World {
  readonly usernames: readonly string[];
  /** Every (conversation, member) pair. */
  readonly memberships: readonly (readonly [string, string])[];
  /** The busy conversations with their last seq. */
  readonly busy: readonly { readonly id: string; readonly lastSeq: number }[];
  /** Where the write scenario appends: its conversations, members and next seqs. */
  readonly writes: { readonly id: string; readonly members: readonly string[]; nextSeq: number }[];
}

async function fill(db: DataSource): Promise<World> {
  const next = seededRandom(1);
  const userIds = Array.from({ length: USERS }, () => randomUUID());
  const usernames = userIds.map((_, i) => `user${i}`);
  await applyAll(
    db,
    directoryProjection(),
    userIds.map((userId, i) =>
      recorded(
        streamIdOf('user', userId),
        0,
        'UserRegistered',
        { userId, username: usernames[i], displayName: `User ${i}` },
        userId,
      ),
    ),
  );

  const groups = Array.from({ length: GROUPS }, () => {
    const members = new Set<string>();
    while (members.size < GROUP_SIZE) members.add(pick(userIds, next));
    return { id: randomUUID(), members: [...members] };
  });
  await applyAll(
    db,
    membershipProjection(),
    groups.map((g, i) => {
      const [ownerId, ...memberIds] = g.members;
      const data = { conversationId: g.id, ownerId, name: `Group ${i}`, memberIds };
      return recorded(streamIdOf('conversation', g.id), 0, 'GroupCreated', data, ownerId!);
    }),
  );

  // Half the messages in the busy conversations, half over the rest but the write scenario's.
  const timeline = timelineProjection();
  const quiet = groups.slice(BUSY, groups.length - WRITE_CONVERSATIONS);
  const busy: { id: string; lastSeq: number }[] = [];
  for (const g of groups.slice(0, BUSY)) {
    const count = Math.floor(MESSAGES / 2 / BUSY);
    const messages = Array.from({ length: count }, (_, i) => sent(g.id, i + 1, g.members, next));
    await applyAll(db, timeline, messages);
    // A fifth of them get 1 to 3 reactions, after the messages (seqs above them).
    let seq = count;
    const reactions = messages.flatMap((message) => {
      if (next() >= 0.2) return [];
      const { messageId } = message.data as { messageId: string };
      const users = new Set(Array.from({ length: 1 + Math.floor(next() * 3) }, () => pick(g.members, next)));
      return [...users].map((userId) =>
        recorded(
          message.streamId,
          ++seq,
          'ReactionAdded',
          { conversationId: g.id, messageId, userId, emoji: pick(['👍', '❤️', '😂', '🎉'], next) },
          userId,
        ),
      );
    });
    await applyAll(db, timeline, reactions);
    busy.push({ id: g.id, lastSeq: count });
  }
  const perQuiet = Math.floor(MESSAGES / 2 / quiet.length);
  await applyAll(
    db,
    timeline,
    quiet.flatMap((g) => Array.from({ length: perQuiet }, (_, i) => sent(g.id, i + 1, g.members, next))),
  );
  await db.query('VACUUM ANALYZE');
  return {
    usernames,
    memberships: groups.flatMap((g) => g.members.map((u) => [g.id, u] as const)),
    busy,
    writes: groups.slice(groups.length - WRITE_CONVERSATIONS).map((g) => ({ ...g, nextSeq: 1 })),
  };
}

// ---------------------------------------------------------------- the TypeORM variants

/** `memberAccess` through the repository: the whole row by its key, then the same answer. */
async function memberAccessByRepository(db: DataSource, conversationId: string, userId: string) {
  const row = await db.getRepository(MemberEntity).findOneBy({ conversationId, userId });
  return row ? { role: row.role, leftSeq: row.leftSeq === null ? null : Number(row.leftSeq) } : null;
}

/** The same through `findOne`, selecting only the two columns `memberAccess` reads. */
async function memberAccessByRepositorySelect(db: DataSource, conversationId: string, userId: string) {
  const row = await db
    .getRepository(MemberEntity)
    .findOne({ select: { role: true, leftSeq: true }, where: { conversationId, userId } });
  return row ? { role: row.role, leftSeq: row.leftSeq === null ? null : Number(row.leftSeq) } : null;
}

/** `usersNamed` through the repository. */
async function usersNamedByRepository(db: DataSource, username: string): Promise<DirectoryProfile[]> {
  const row = await db.getRepository(DirectoryUserEntity).findOneBy({ username });
  return row
    ? [
        {
          userId: row.userId,
          username: row.username,
          displayName: row.displayName,
          avatarUrl: row.avatarUrl,
          statusText: row.statusText,
        },
      ]
    : [];
}

/**
 * `timelinePage` (older than `before`, as the conversation is now) through the query
 * builder: the page's messages, then the standing reactions of those messages.
 */
async function timelinePageByQueryBuilder(
  db: DataSource,
  conversationId: string,
  before: number,
  limit: number,
): Promise<{ messages: TimelineMessage[]; nextCursor: number | null }> {
  const rows = await db
    .getRepository(TimelineMessageEntity)
    .createQueryBuilder('m')
    .where('m.conversationId = :conversationId', { conversationId })
    .andWhere('m.seq < :before', { before })
    .orderBy('m.seq', 'DESC')
    .limit(limit + 1)
    .getMany();
  const shown = rows.slice(0, limit);
  const reactions =
    shown.length === 0
      ? []
      : await db
          .getRepository(TimelineReactionEntity)
          .createQueryBuilder('r')
          .where('r.messageId IN (:...ids)', { ids: shown.map((m) => m.messageId) })
          .andWhere('r.removedSeq IS NULL')
          .orderBy('r.userId')
          .getMany();
  const byMessage = new Map<string, Record<string, string[]>>();
  for (const r of reactions) {
    const emojis = byMessage.get(r.messageId) ?? {};
    (emojis[r.emoji] ??= []).push(r.userId);
    byMessage.set(r.messageId, emojis);
  }
  const messages = shown.map((m): TimelineMessage => ({
    seq: Number(m.seq),
    messageId: m.messageId,
    senderId: m.senderId,
    text: m.text,
    replyToMessageId: m.replyTo,
    replyCount: m.replyCount,
    mentions: m.mentions,
    attachments: m.attachments,
    reactions: byMessage.get(m.messageId) ?? {},
    sentAt: m.sentAt.toISOString(),
    editedAt: m.editedAt ? m.editedAt.toISOString() : null,
    deleted: m.deleted,
  }));
  return { messages, nextCursor: rows.length > limit ? messages[messages.length - 1]!.seq : null };
}

/** A send as the message entity's row. */
const messageRow = (s: Sent): TimelineMessageEntityRow => ({
  conversationId: s.data.conversationId,
  seq: String(s.seq),
  messageId: s.data.messageId,
  senderId: s.data.senderId,
  text: s.data.text,
  replyTo: s.data.replyToMessageId ?? null,
  replyCount: 0,
  mentions: s.data.mentions,
  attachments: s.data.attachments,
  sentAt: new Date(s.occurredAt),
  editedAt: null,
  deleted: false,
  updatedSeq: String(s.seq),
});

/** The timeline's apply for batches of sends only, its write done by `write`. */
function sendsOnly(write: (m: EntityManager, rows: TimelineMessageEntityRow[]) => Promise<unknown>) {
  return eachEvent<EventIn<'conversation'>>(
    (_m, event) => Promise.reject(new Error(`not a send: ${event.type}`)),
    async (m, sends) => {
      await write(m, sends.map(messageRow));
    },
  );
}

// ---------------------------------------------------------------- measurement

interface Variant<I> {
  readonly name: string;
  run(input: I): Promise<unknown>;
}

interface Scenario<I> {
  readonly title: string;
  /** The inputs of a window of round `round`: reads draw the same keys for every variant of a round. */
  inputs(round: number): I[];
  /** Herald's first. */
  readonly variants: readonly Variant<I>[];
}

interface Sample {
  readonly opsPerSec: number;
  readonly nodeCpuMsPerOp: number;
  readonly pgCpuMsPerOp: number | null;
}

/** The PostgreSQL backend serving the one connection, when its /proc entry can be read. */
async function backendPid(db: DataSource): Promise<number | null> {
  const [row] = await select(db, z.object({ pid: z.number() }), 'SELECT pg_backend_pid() AS pid', []);
  return row && backendCpuMs(row.pid) !== null ? row.pid : null;
}

/** User and system CPU of a process so far, in ms (/proc/<pid>/stat; Linux's 100 ticks a second). */
function backendCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

async function measure<I>(db: DataSource, variant: Variant<I>, inputs: readonly I[]): Promise<Sample> {
  const pid = await backendPid(db);
  const pg0 = pid === null ? null : backendCpuMs(pid);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const input of inputs) await variant.run(input);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const pg1 = pid === null ? null : backendCpuMs(pid);
  // Another connection (the pool replaced it) would not be the one measured.
  const same = pid !== null && (await backendPid(db)) === pid;
  return {
    opsPerSec: inputs.length / seconds,
    nodeCpuMsPerOp: (cpu.user + cpu.system) / 1000 / inputs.length,
    pgCpuMsPerOp: same && pg0 !== null && pg1 !== null ? (pg1 - pg0) / inputs.length : null,
  };
}

interface VariantFigures {
  opsPerSec: number;
  nodeCpuMsPerOp: number;
  pgCpuMsPerOp: number | null;
  /** Medians of the rounds' ratios to Herald's variant (absent for Herald's own). */
  opsPerSecRatio?: number;
  nodeCpuRatio?: number;
  pgCpuRatio?: number | null;
}

async function runScenario<I>(db: DataSource, scenario: Scenario<I>): Promise<Record<string, VariantFigures>> {
  const samples = scenario.variants.map((): Sample[] => []);
  for (let r = 0; r <= ROUNDS; r++) {
    const order = scenario.variants.map((_, v) => v);
    if (r % 2 === 1) order.reverse();
    for (const v of order) {
      const sample = await measure(db, scenario.variants[v]!, scenario.inputs(r));
      if (r > 0) samples[v]!.push(sample); // round 0 warms up
    }
  }
  const figures: Record<string, VariantFigures> = {};
  const base = samples[0]!;
  const medianOf = (values: (number | null)[], digits: number): number | null =>
    values.some((x) => x === null) ? null : round(median(values as number[]), digits);
  scenario.variants.forEach((variant, v) => {
    const s = samples[v]!;
    figures[variant.name] = {
      opsPerSec: round(median(s.map((x) => x.opsPerSec))),
      nodeCpuMsPerOp: round(median(s.map((x) => x.nodeCpuMsPerOp)), 3),
      pgCpuMsPerOp: medianOf(
        s.map((x) => x.pgCpuMsPerOp),
        3,
      ),
      ...(v === 0
        ? {}
        : {
            opsPerSecRatio: round(median(s.map((x, i) => x.opsPerSec / base[i]!.opsPerSec)), 2),
            nodeCpuRatio: round(median(s.map((x, i) => x.nodeCpuMsPerOp / base[i]!.nodeCpuMsPerOp)), 2),
            pgCpuRatio: medianOf(
              s.map((x, i) =>
                x.pgCpuMsPerOp && base[i]!.pgCpuMsPerOp ? x.pgCpuMsPerOp / base[i]!.pgCpuMsPerOp : null,
              ),
              2,
            ),
          }),
    };
  });
  print(scenario.title, figures);
  return figures;
}

function print(title: string, figures: Record<string, VariantFigures>): void {
  const show = (n: number | null | undefined): string => (n === null || n === undefined ? '-' : String(n));
  const width = Math.max(...Object.keys(figures).map((k) => k.length));
  console.log(`\n${title}`);
  console.log(
    `${'variant'.padEnd(width)}  ${['ops/s', 'node ms/op', 'pg ms/op', 'ops/s ×', 'node cpu ×', 'pg cpu ×'].map((h) => h.padStart(10)).join('  ')}`,
  );
  for (const [name, f] of Object.entries(figures)) {
    const cells = [f.opsPerSec, f.nodeCpuMsPerOp, f.pgCpuMsPerOp, f.opsPerSecRatio, f.nodeCpuRatio, f.pgCpuRatio];
    console.log(`${name.padEnd(width)}  ${cells.map((c) => show(c).padStart(10)).join('  ')}`);
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const config = configFromProcess();
  const database = await benchDatabase(config.databaseUrl);
  await migrateDatabase(database.url, [...PROJECTION_RUNTIME_MIGRATIONS, ...readModelMigrations()]);
  // The product's data source, with the entities, and one connection: every variant runs
  // on the same backend, whose CPU is then measurable.
  const db = await createReadModelDataSource({
    url: database.url,
    poolSize: 1,
    entities: [MemberEntity, DirectoryUserEntity, TimelineMessageEntity, TimelineReactionEntity],
  }).initialize();
  console.log(machine());
  console.log(
    `database: ${database.embedded ? 'embedded PostgreSQL' : 'DATABASE_URL'}; ${USERS} users, ${GROUPS} groups, ${MESSAGES} messages; ${ROUNDS} rounds`,
  );
  let started = performance.now();
  const world = await fill(db);
  console.log(`setup: ${round((performance.now() - started) / 1000, 1)} s`);
  // What `synchronize` would change to make the migrated tables match the entity schemas:
  // where they differ from the migrations, and what they leave out.
  const sync = (await db.driver.createSchemaBuilder().log()).upQueries.map((q) => q.query);
  console.log(`entities against the migrations: ${sync.length === 0 ? 'no difference' : sync.join('; ')}`);

  const keys = <T>(count: number, choose: (next: () => number) => T) => {
    return (r: number): T[] => {
      const next = seededRandom(1_000 + r);
      return Array.from({ length: count }, () => choose(next));
    };
  };
  const memberKeys = keys(POINT_READS, (next) => pick(world.memberships, next));
  const nameKeys = keys(POINT_READS, (next) => pick(world.usernames, next));
  const pageKeys = keys(PAGES, (next) => {
    const c = pick(world.busy, next);
    return { id: c.id, before: PAGE + 1 + Math.floor(next() * (c.lastSeq - PAGE)) };
  });

  // The same answers, or the comparison would not be of the same work.
  const same = async <I>(what: string, inputs: readonly I[], a: (i: I) => Promise<unknown>, b: typeof a) => {
    for (const input of inputs.slice(0, 200)) {
      if (!isDeepStrictEqual(await a(input), await b(input))) throw new Error(`${what}: the answers differ`);
    }
  };
  await same(
    'memberAccess',
    memberKeys(0),
    ([c, u]): Promise<MemberAccess | null> => memberAccess(db, c, u),
    ([c, u]) => memberAccessByRepository(db, c, u),
  );
  await same(
    'memberAccess',
    memberKeys(0),
    ([c, u]): Promise<MemberAccess | null> => memberAccess(db, c, u),
    ([c, u]) => memberAccessByRepositorySelect(db, c, u),
  );
  await same(
    'usersNamed',
    nameKeys(0),
    (name) => usersNamed(db, name),
    (name) => usersNamedByRepository(db, name),
  );
  await same(
    'timelinePage',
    pageKeys(0),
    (p) => timelinePage(db, p.id, { before: p.before, limit: PAGE }),
    (p) => timelinePageByQueryBuilder(db, p.id, p.before, PAGE),
  );

  started = performance.now();
  const memberByKey = await runScenario(db, {
    title: `point read: a member's row by its key, ${POINT_READS} reads a window`,
    inputs: memberKeys,
    variants: [
      { name: 'select', run: ([c, u]) => memberAccess(db, c, u) },
      { name: 'findOneBy', run: ([c, u]) => memberAccessByRepository(db, c, u) },
      { name: 'findOneSelect', run: ([c, u]) => memberAccessByRepositorySelect(db, c, u) },
    ],
  });
  const userByName = await runScenario(db, {
    title: `point read: a directory user by name, ${POINT_READS} reads a window`,
    inputs: nameKeys,
    variants: [
      { name: 'select', run: (name) => usersNamed(db, name) },
      { name: 'findOneBy', run: (name) => usersNamedByRepository(db, name) },
    ],
  });
  const timelinePage50 = await runScenario(db, {
    title: `keyset page of ${PAGE} messages with their reactions, ${PAGES} pages a window`,
    inputs: pageKeys,
    variants: [
      { name: 'select', run: (p) => timelinePage(db, p.id, { before: p.before, limit: PAGE }) },
      { name: 'getMany', run: (p) => timelinePageByQueryBuilder(db, p.id, p.before, PAGE) },
    ],
  });

  const projection = timelineProjection();
  const byInsert = sendsOnly((m, rows) => m.getRepository(TimelineMessageEntity).insert(rows));
  const byInsertOrIgnore = sendsOnly((m, rows) =>
    m.createQueryBuilder().insert().into(TimelineMessageEntity).values(rows).orIgnore().updateEntity(false).execute(),
  );
  const bySave = sendsOnly((m, rows) => m.getRepository(TimelineMessageEntity).save(rows));
  const written = (apply: Projection['apply']) => (batch: readonly RecordedEvent[]) =>
    db.transaction((m) => apply(batch, m));
  const writer = seededRandom(7);
  let batchesWritten = 0;
  const batchWrite = await runScenario(db, {
    title: `projection write: ${WRITE_BATCH} sends in a transaction, ${BATCHES} batches a window`,
    // Fresh sends for every window (every variant writes new rows), spread over the write
    // scenario's conversations, each continuing its seqs.
    inputs: () =>
      Array.from({ length: BATCHES }, () =>
        Array.from({ length: WRITE_BATCH }, (_, i) => {
          const c = world.writes[i % world.writes.length]!;
          return sent(c.id, c.nextSeq++, c.members, writer);
        }),
      ),
    variants: [
      { name: 'unnest', run: written((events, m) => projection.apply(events, m)) },
      { name: 'insert', run: written(byInsert) },
      { name: 'insertOrIgnore', run: written(byInsertOrIgnore) },
      { name: 'save', run: written(bySave) },
    ].map((v) => ({
      ...v,
      run: async (batch: readonly RecordedEvent[]) => {
        await v.run(batch);
        batchesWritten++;
      },
    })),
  });
  const rows = await db
    .getRepository(TimelineMessageEntity)
    .countBy({ conversationId: In(world.writes.map((c) => c.id)) });
  if (rows !== batchesWritten * WRITE_BATCH)
    throw new Error(`${rows} rows written, not ${batchesWritten * WRITE_BATCH}`);
  console.log(`\nmeasured: ${round((performance.now() - started) / 1000, 1)} s`);

  await db.destroy();
  await database.stop();
  console.log(JSON.stringify({ rounds: ROUNDS, memberByKey, userByName, timelinePage: timelinePage50, batchWrite }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
