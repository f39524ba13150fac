/**
 * `npm run bench:replay`: replaying and checking a large log (issue 14), on PostgreSQL
 * (embedded unless DATABASE_URL is set).
 *
 * Seed (measured as seedPerSec, hashing on): BENCH_REPLAY_EVENTS events (1,000,000) of a
 * realistic chat mix written through the event store port in appends of up to 500 events
 * (8 at a time): BENCH_REPLAY_USERS users (5,000) registered, groups of 8 (2,000) created,
 * then in the conversations about 78% messages (a tenth mentioning someone, one in twenty
 * with a file), 10% reactions, 3% edits, and in the users' receipts streams 9% read
 * markers. The events are valid catalogue events: the read models can be rebuilt from them.
 *
 * Tamper evidence (ADR 030): the sealer seals the whole log (sealPerSec), then `verify`
 * checks every chain link and every seal of it (verifyPerSec, as `herald verify` runs it).
 *
 * Appends with and without hashing, in the same go: bench:store's append workload (256
 * appenders each appending single events with an exact expected revision to streams of their
 * own, 1,000 streams) for BENCH_SECONDS (10) per window, alternating a store that hashes
 * and one that does not (an adapter option, not a configuration), BENCH_RUNS (3) windows
 * each; the medians, and their ratio.
 *
 * The last line is one JSON object. Other figures (rebuilds, export) join it later.
 */
import { configFromProcess } from '@herald/config';
import { PostgresEventStore, Sealer, TamperEvidence, type NewEvent } from '@herald/event-store';
import { streamIdOf } from '@herald/events';
import { randomUUID } from 'node:crypto';
import { benchDatabase, machine, median, round, seededRandom } from './report.js';

const EVENTS = Number(process.env.BENCH_REPLAY_EVENTS ?? 1_000_000);
const USERS = Number(process.env.BENCH_REPLAY_USERS ?? 5_000);
const GROUPS = Math.max(1, Math.floor(USERS / 2.5));
const GROUP_SIZE = 8;
const APPEND_SIZE = 500;
const SEED_CONCURRENCY = 8;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const APPENDERS = 256;
const STREAMS = 1_000;

const next = seededRandom(14);
const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
const WORDS = 'the quick brown fox jumps over a lazy dog while we meet at noon for lunch and review the plan'.split(
  ' ',
);
const EPOCH = Date.parse('2026-01-01T00:00:00Z');
let clock = 0;

function event(type: string, data: unknown, actorId: string): NewEvent {
  return {
    eventId: randomUUID(),
    type,
    schemaVersion: 1,
    data,
    metadata: {
      actorId,
      correlationId: randomUUID(),
      causationId: randomUUID(),
      occurredAt: new Date(EPOCH + clock++ * 10).toISOString(),
    },
  };
}

const text = (): string => Array.from({ length: 3 + Math.floor(next() * 28) }, () => pick(WORDS)).join(' ');

interface Group {
  readonly id: string;
  readonly members: readonly string[];
  /** The group's last seq, and recent message ids (for reactions and edits). */
  seq: number;
  readonly recent: { id: string; sender: string }[];
}

/** The next chunk of a conversation's life: messages, reactions and edits. */
function conversationChunk(g: Group, size: number): NewEvent[] {
  const events: NewEvent[] = [];
  for (let i = 0; i < size; i++) {
    const roll = next();
    const message = g.recent.length > 0 ? pick(g.recent) : undefined;
    if (message && roll < 0.11) {
      const userId = pick(g.members);
      events.push(
        event(
          'ReactionAdded',
          { conversationId: g.id, messageId: message.id, userId, emoji: pick(['👍', '❤️', '😂', 'tada']) },
          userId,
        ),
      );
    } else if (message && roll < 0.14) {
      events.push(
        event(
          'MessageEdited',
          { conversationId: g.id, messageId: message.id, text: text(), mentions: { userIds: [], all: false } },
          message.sender,
        ),
      );
    } else {
      const senderId = pick(g.members);
      const messageId = randomUUID();
      const data = {
        conversationId: g.id,
        messageId,
        senderId,
        text: text(),
        mentions: { userIds: next() < 0.1 ? [pick(g.members)] : [], all: false },
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
      events.push(event('MessageSent', data, senderId));
      g.recent.push({ id: messageId, sender: senderId });
      if (g.recent.length > 20) g.recent.shift();
    }
  }
  g.seq += size;
  return events;
}

/** The appends that write the seed log, made lazily, in order per stream. */
function* seedAppends(): Generator<[string, NewEvent[]]> {
  const users = Array.from({ length: USERS }, () => randomUUID());
  for (const [i, userId] of users.entries()) {
    yield [
      streamIdOf('user', userId),
      [event('UserRegistered', { userId, username: `user${i}`, displayName: `User ${i}` }, userId)],
    ];
  }
  const groups: Group[] = Array.from({ length: GROUPS }, () => {
    const members = new Set<string>();
    while (members.size < GROUP_SIZE) members.add(pick(users));
    return { id: randomUUID(), members: [...members], seq: 0, recent: [] };
  });
  for (const g of groups) {
    const [ownerId, ...memberIds] = g.members;
    yield [
      streamIdOf('conversation', g.id),
      [event('GroupCreated', { conversationId: g.id, ownerId, name: 'A group', memberIds }, ownerId!)],
    ];
  }
  let written = USERS + GROUPS;
  while (written < EVENTS) {
    const g = pick(groups);
    const size = Math.min(APPEND_SIZE, EVENTS - written, 20 + Math.floor(next() * 200));
    // About one append in ten is a member catching up: read markers in their receipts stream.
    if (next() < 0.1) {
      const userId = pick(g.members);
      const marks = Array.from({ length: Math.min(size, 100) }, (_, i) =>
        event('ConversationRead', { userId, conversationId: g.id, upToSeq: Math.max(0, g.seq - 100 + i) }, userId),
      );
      yield [streamIdOf('receipts', userId), marks];
      written += marks.length;
      continue;
    }
    yield [streamIdOf('conversation', g.id), conversationChunk(g, size)];
    written += size;
  }
}

async function seed(store: PostgresEventStore): Promise<{ count: number; seconds: number }> {
  const appends = seedAppends();
  let count = 0;
  const started = performance.now();
  // Appends to one stream stay in order: each worker takes the next append when it is free,
  // and a stream's appends are 'any' (the store puts them after its revision).
  await Promise.all(
    Array.from({ length: SEED_CONCURRENCY }, async () => {
      for (let step = appends.next(); !step.done; step = appends.next()) {
        const [streamId, events] = step.value;
        await store.append(streamId, events, 'any');
        count += events.length;
        if (count % 100_000 < events.length) process.stderr.write(`seeded ${count} events\n`);
      }
    }),
  );
  return { count, seconds: (performance.now() - started) / 1000 };
}

/**
 * bench:store's append workload: 256 appenders of single events with exact expected
 * revisions. Appends a second, and this process's CPU per append (on a shared machine the
 * rate follows the CPU the process gets; the CPU it spends per append does not).
 */
async function appendWindow(store: PostgresEventStore, label: string): Promise<{ rate: number; cpuUs: number }> {
  const cpu = process.cpuUsage();
  const streams = Array.from({ length: STREAMS }, (_, s) => `bench${label}x${randomUUID().slice(0, 8)}-${s}`);
  const revisions = new Map<string, number>();
  let count = 0;
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: APPENDERS }, async (_, a) => {
      const own = streams.filter((_, s) => s % APPENDERS === a);
      for (let i = 0; performance.now() < deadline; i++) {
        const streamId = own[i % own.length]!;
        // eslint-disable-next-line no-restricted-syntax -- an actor id, not a stream name
        const actor = `user-${a}`;
        const data = {
          messageId: randomUUID(),
          senderId: actor,
          text: 'The quick brown fox jumps over the lazy dog, twice: the quick brown fox jumps over the lazy dog.',
          mentions: [],
        };
        const result = await store.append(
          streamId,
          [
            {
              eventId: randomUUID(),
              type: 'MessageSent',
              schemaVersion: 1,
              data,
              metadata: {
                actorId: actor,
                correlationId: randomUUID(),
                causationId: randomUUID(),
                occurredAt: new Date().toISOString(),
                clientMessageId: randomUUID(),
              },
            },
          ],
          revisions.get(streamId) ?? 'no_stream',
        );
        revisions.set(streamId, result.nextExpectedRevision);
        count++;
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return { rate: count / ((performance.now() - started) / 1000), cpuUs: (used.user + used.system) / count };
}

async function main(): Promise<void> {
  const config = configFromProcess();
  const database = await benchDatabase(config.databaseUrl);
  process.stdout.write(`${machine()}\n`);
  process.stdout.write(`database: ${database.embedded ? 'embedded PostgreSQL (fresh)' : 'DATABASE_URL'}\n`);
  const store = new PostgresEventStore({ connectionString: database.url, poolSize: 10 });
  const unhashed = new PostgresEventStore({ connectionString: database.url, poolSize: 10, hashing: false });
  const sealer = new Sealer({ connectionString: database.url, intervalMs: 60_000 });
  const evidence = new TamperEvidence({ connectionString: database.url });
  try {
    await store.migrate();

    const seeded = await seed(store);
    const seedPerSec = seeded.count / seeded.seconds;
    process.stdout.write(`seed: ${seeded.count} events in ${round(seeded.seconds, 1)} s, ${round(seedPerSec)}/s\n`);

    let started = performance.now();
    const seals = await sealer.sealAll();
    const sealSeconds = (performance.now() - started) / 1000;
    const sealed = seals.reduce((n, s) => n + s.eventCount, 0);
    process.stdout.write(`seal: ${sealed} events in ${seals.length} seals, ${round(sealSeconds, 1)} s\n`);

    started = performance.now();
    const cpu = process.cpuUsage();
    const report = await evidence.verify();
    const verifySeconds = (performance.now() - started) / 1000;
    const verifyCpu = process.cpuUsage(cpu);
    // CPU this process spent per event: what the figure would be with a core to itself.
    const verifyCpuUsPerEvent = (verifyCpu.user + verifyCpu.system) / report.events;
    if (!report.ok) throw new Error(`verify found a broken link in an untouched log: ${JSON.stringify(report.broken)}`);
    const verifyPerSec = report.events / verifySeconds;
    process.stdout.write(
      `verify: ${report.events} events, ${report.seals} seals in ${round(verifySeconds, 1)} s, ${round(verifyPerSec)}/s ` +
        `(${round(verifyCpuUsPerEvent, 2)} µs of this process's CPU per event)\n`,
    );

    const withHashing: number[] = [];
    const withoutHashing: number[] = [];
    const cpuWith: number[] = [];
    const cpuWithout: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      // Alternate which goes first, so that drift on a shared machine falls on both alike.
      const order = run % 2 === 0 ? (['with', 'without'] as const) : (['without', 'with'] as const);
      for (const which of order) {
        const { rate, cpuUs } = await appendWindow(which === 'with' ? store : unhashed, `${which}${run}`);
        (which === 'with' ? withHashing : withoutHashing).push(rate);
        (which === 'with' ? cpuWith : cpuWithout).push(cpuUs);
        process.stdout.write(
          `appends/s ${which} hashing, run ${run + 1}: ${round(rate)} (${round(cpuUs, 1)} µs of this process's CPU per append)\n`,
        );
      }
    }
    const appendsPerSecWithHashing = median(withHashing);
    const appendsPerSecWithoutHashing = median(withoutHashing);
    const figures = {
      events: report.events,
      seedPerSec: round(seedPerSec),
      sealPerSec: round(sealed / sealSeconds),
      verifyPerSec: round(verifyPerSec),
      verifyCpuUsPerEvent: round(verifyCpuUsPerEvent, 2),
      appendsPerSecWithHashing: round(appendsPerSecWithHashing),
      appendsPerSecWithoutHashing: round(appendsPerSecWithoutHashing),
      hashingAppendRatio: round(appendsPerSecWithHashing / appendsPerSecWithoutHashing, 3),
      appendCpuUsWithHashing: round(median(cpuWith), 1),
      appendCpuUsWithoutHashing: round(median(cpuWithout), 1),
    };
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    await evidence.close();
    await sealer.stop();
    await unhashed.close();
    await store.close();
    await database.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:replay failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
