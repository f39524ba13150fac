/**
 * A realistic chat history in the event store, for the benchmarks that replay one
 * (`bench:rebuild`; meant to be shared with `bench:replay`). Deterministic for a given
 * size (a seeded generator, a fixed clock), appended the way Herald appends: one stream per
 * conversation, per user and per user's receipts, several appenders at once.
 *
 * The mix, of `events` in all: users registered (one per 200 events, at least 100), groups
 * of 8 to 20 members (one per 400 events) and direct conversations (one per 800), each
 * conversation's events in runs of up to 200 appended in turn so the global log interleaves
 * them: about 73% sends (1 in 10 a reply, 1 in 8 mentioning someone), 5% edits, 1.5%
 * deletions, 8% reactions added and 1.5% removed, 10% receipts (read and delivered markers
 * in the members' receipts streams), 1% joins of groups.
 */
import type { EventStore, NewEvent } from '@herald/event-store';
import { streamIdOf, type CatalogueEvent } from '@herald/events';

/** Deterministic ids and choices (mulberry32). */
class Random {
  constructor(private state: number) {}
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  uuid(): string {
    const hex = Array.from({ length: 32 }, () => this.int(16).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20)}`;
  }
}

const WORDS =
  'the quick brown fox jumps over lazy dog hello world meeting lunch release deploy review ship it tomorrow today please thanks great idea bug fix'.split(
    ' ',
  );
const EMOJI = ['👍', '🎉', '❤️', '😂', '👀'];

interface Conversation {
  readonly id: string;
  readonly members: string[];
  /** Stream revision = seq of the conversation's last event. */
  seq: number;
  readonly messages: { id: string; seq: number }[];
  readonly outsiders: string[];
}

export interface SeedOptions {
  readonly events: number;
  /** Appenders at once (16). */
  readonly concurrency?: number;
  readonly seed?: number;
  /** Told how many events are in the store so far, after each append. */
  readonly onProgress?: (appended: number) => void;
}

/** Appends a chat history of about `options.events` events (exactly that many, give or take the last run). */
export async function seedChatHistory(store: EventStore, options: SeedOptions): Promise<number> {
  const random = new Random(options.seed ?? 42);
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const event = (e: CatalogueEvent, actorId: string): NewEvent => ({
    eventId: random.uuid(),
    type: e.type,
    schemaVersion: 1,
    data: e.data,
    metadata: {
      actorId,
      correlationId: 'bench',
      causationId: 'bench',
      occurredAt: new Date((clock += 7)).toISOString(),
    },
  });
  let appended = 0;
  const append = async (stream: string, events: NewEvent[]): Promise<void> => {
    await store.append(stream, events, 'any');
    appended += events.length;
    options.onProgress?.(appended);
  };

  // Users, each in its own stream.
  const userCount = Math.max(100, Math.floor(options.events / 200));
  const users = Array.from({ length: userCount }, () => random.uuid());
  await parallel(users, options.concurrency ?? 16, async (userId, i) => {
    await append(streamIdOf('user', userId), [
      event({ type: 'UserRegistered', data: { userId, username: `user${i}`, displayName: `User ${i}` } }, userId),
    ]);
  });

  // Conversations, created up front.
  const conversations: Conversation[] = [];
  const groups = Math.max(10, Math.floor(options.events / 400));
  const directs = Math.max(5, Math.floor(options.events / 800));
  const openings: { stream: string; events: NewEvent[] }[] = [];
  for (let g = 0; g < groups; g++) {
    const size = 8 + random.int(13);
    const members = Array.from(new Set(Array.from({ length: size }, () => random.pick(users))));
    const [owner, ...rest] = members as [string, ...string[]];
    const id = random.uuid();
    conversations.push({ id, members, seq: 0, messages: [], outsiders: users.slice(g % 50, (g % 50) + 5) });
    openings.push({
      stream: streamIdOf('conversation', id),
      events: [
        event(
          { type: 'GroupCreated', data: { conversationId: id, ownerId: owner, name: `group ${g}`, memberIds: rest } },
          owner,
        ),
      ],
    });
  }
  for (let d = 0; d < directs; d++) {
    const pair = [random.pick(users), random.pick(users)].sort() as [string, string];
    if (pair[0] === pair[1]) continue;
    const id = random.uuid();
    conversations.push({ id, members: [...pair], seq: 0, messages: [], outsiders: [] });
    openings.push({
      stream: streamIdOf('conversation', id),
      events: [event({ type: 'DirectConversationStarted', data: { conversationId: id, memberIds: pair } }, pair[0])],
    });
  }
  await parallel(openings, options.concurrency ?? 16, ({ stream, events }) => append(stream, events));

  // Then runs of events per conversation, in turn, until the total is reached.
  let generated = appended;
  const next = (): { conversation: string; append: () => Promise<void> } | undefined => {
    if (generated >= options.events) return undefined;
    const c = random.pick(conversations);
    const length = Math.min(20 + random.int(181), options.events - generated);
    const events: NewEvent[] = [];
    const receipts: { stream: string; event: NewEvent }[] = [];
    const none = { userIds: [], all: false };
    for (let i = 0; i < length; i++) {
      const roll = random.next();
      const sender = random.pick(c.members);
      const target = c.messages.length > 0 ? random.pick(c.messages) : undefined;
      if (roll < 0.05 && target) {
        c.seq++;
        events.push(
          event(
            {
              type: 'MessageEdited',
              data: { conversationId: c.id, messageId: target.id, text: sentence(random), mentions: none },
            },
            sender,
          ),
        );
      } else if (roll < 0.065 && target) {
        c.seq++;
        events.push(
          event(
            { type: 'MessageDeleted', data: { conversationId: c.id, messageId: target.id, deletedBy: sender } },
            sender,
          ),
        );
      } else if (roll < 0.145 && target) {
        c.seq++;
        events.push(
          event(
            {
              type: 'ReactionAdded',
              data: { conversationId: c.id, messageId: target.id, userId: sender, emoji: random.pick(EMOJI) },
            },
            sender,
          ),
        );
      } else if (roll < 0.16 && target) {
        c.seq++;
        events.push(
          event(
            {
              type: 'ReactionRemoved',
              data: { conversationId: c.id, messageId: target.id, userId: sender, emoji: random.pick(EMOJI) },
            },
            sender,
          ),
        );
      } else if (roll < 0.26 && c.seq > 0) {
        const reader = random.pick(c.members);
        const type = random.next() < 0.5 ? 'ConversationRead' : 'MessagesDelivered';
        receipts.push({
          stream: streamIdOf('receipts', reader),
          event: event({ type, data: { userId: reader, conversationId: c.id, upToSeq: c.seq } }, reader),
        });
      } else if (roll < 0.27 && c.outsiders.length > 0) {
        const userId = c.outsiders.pop()!;
        c.members.push(userId);
        c.seq++;
        events.push(event({ type: 'MemberJoined', data: { conversationId: c.id, userId, via: 'link' } }, userId));
      } else {
        c.seq++;
        const messageId = random.uuid();
        const reply = target && random.next() < 0.1 ? { replyToMessageId: target.id } : {};
        const mentions = random.next() < 0.125 ? { userIds: [random.pick(c.members)], all: false } : none;
        events.push(
          event(
            {
              type: 'MessageSent',
              data: {
                conversationId: c.id,
                messageId,
                senderId: sender,
                text: sentence(random),
                mentions,
                attachments: [],
                ...reply,
              },
            },
            sender,
          ),
        );
        c.messages.push({ id: messageId, seq: c.seq });
        if (c.messages.length > 300) c.messages.shift();
      }
    }
    generated += events.length + receipts.length;
    return {
      conversation: c.id,
      append: async () => {
        if (events.length > 0) await append(streamIdOf('conversation', c.id), events);
        for (const r of receipts) await append(r.stream, [r.event]);
      },
    };
  };
  // A conversation's seqs are its stream revisions, which the runs were generated with:
  // its runs are appended one after the other, in the order they were made.
  const previous = new Map<string, Promise<void>>();
  const workers = Array.from({ length: options.concurrency ?? 16 }, async () => {
    for (;;) {
      const run = next();
      if (!run) return;
      const after = previous.get(run.conversation) ?? Promise.resolve();
      const done = after.then(run.append);
      previous.set(run.conversation, done);
      await done;
    }
  });
  await Promise.all(workers);
  return appended;
}

function sentence(random: Random): string {
  return Array.from({ length: 3 + random.int(12) }, () => random.pick(WORDS)).join(' ');
}

async function parallel<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i]!, i);
      }
    }),
  );
}
