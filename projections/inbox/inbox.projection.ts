/**
 * inbox.v1: per user and conversation, how many messages are unread and how many
 * mention them, at a cost per message that does not grow with the group:
 * - a per-conversation message counter, and each message's ordinal (one row per message);
 * - a per-member read marker (seq and the ordinal it reached), moved by the member's own
 *   reads and sends; unread = the conversation's count - the member's read count;
 * - mention rows written only for the users a message names (one row for @all), replaced
 *   when an edit changes whom it names, removed when it is deleted;
 * - deleted messages stay counted and are marked: unread subtracts those after the read
 *   marker (a partial index finds them), so a delete writes one row whatever the group.
 * Idempotent: conversation writes are guarded by the seq, read markers only move forward.
 *
 * A batch costs a fixed number of statements whatever its events (a rebuild's speed is its
 * statements per event, docs/benchmarks.md): the rows it touches (conversations, members,
 * the messages its edits and deletions name, and what each read marker's seq counts) are
 * read first, in one statement each; the batch is folded over them in memory, in log
 * order, each event by the rule it has alone (the guards above); then what changed is
 * written, one statement per table. Applying a batch at once or its events one by one
 * gives the same rows (`batches.property.int.spec.ts`).
 */
import { streamPrefixOf, type EventIn } from '@herald/events';
import { z } from 'zod';
import { readEach, type Placed } from '../each-event.js';
import { select } from '../sql.js';
import type { Projection } from '@herald/projection-runtime';
import type { EntityManager } from 'typeorm';

type InboxEvent = EventIn<'conversation'> | EventIn<'receipts'>;
type Of<T extends InboxEvent['type']> = Placed<Extract<InboxEvent, { type: T }>>;
/** The events the inbox folds. */
type Applied =
  | Of<'DirectConversationStarted'>
  | Of<'GroupCreated'>
  | Of<'MemberJoined'>
  | Of<'MemberLeft'>
  | Of<'MemberKicked'>
  | Of<'MessageSent'>
  | Of<'MessageEdited'>
  | Of<'MessageDeleted'>
  | Of<'ConversationRead'>
  | Of<'MessagesDelivered'>;

/** The mention row of an @all message. */
export const EVERYONE = '00000000-0000-0000-0000-000000000000';

export const INBOX = 'inbox.v1';

export function inboxProjection(): Projection {
  return {
    name: INBOX,
    filter: {
      streamPrefixes: [streamPrefixOf('conversation'), streamPrefixOf('receipts')],
      eventTypes: [
        'DirectConversationStarted',
        'GroupCreated',
        'MemberJoined',
        'MemberLeft',
        'MemberKicked',
        'MessageSent',
        'MessageEdited',
        'MessageDeleted',
        'ConversationRead',
        'MessagesDelivered',
      ],
    },
    apply: (events, manager) => applyBatch(manager, applied(readEach<InboxEvent>(events))),
  };
}

/** The batch's events that the inbox folds, in order. */
function applied(batch: readonly Placed<InboxEvent>[]): Applied[] {
  const out: Applied[] = [];
  for (const placed of batch) {
    const { event } = placed;
    switch (event.type) {
      case 'DirectConversationStarted':
        out.push({ ...placed, event });
        break;
      case 'GroupCreated':
        out.push({ ...placed, event });
        break;
      case 'MemberJoined':
        out.push({ ...placed, event });
        break;
      case 'MemberLeft':
        out.push({ ...placed, event });
        break;
      case 'MemberKicked':
        out.push({ ...placed, event });
        break;
      case 'MessageSent':
        out.push({ ...placed, event });
        break;
      case 'MessageEdited':
        out.push({ ...placed, event });
        break;
      case 'MessageDeleted':
        out.push({ ...placed, event });
        break;
      case 'ConversationRead':
        out.push({ ...placed, event });
        break;
      case 'MessagesDelivered':
        out.push({ ...placed, event });
        break;
      // Not the inbox's (its filter does not even read them).
      case 'GroupRenamed':
      case 'GroupDetailsChanged':
      case 'MemberInvited':
      case 'InvitationWithdrawn':
      case 'InvitationLinkCreated':
      case 'InvitationLinkRevoked':
      case 'MemberRoleChanged':
      case 'ConversationMuteChanged':
      case 'GroupDissolved':
      case 'ReactionAdded':
      case 'ReactionRemoved':
      case 'MemberSilenced':
      case 'MemberUnsilenced':
      case 'MemberBanned':
      case 'MemberUnbanned':
      case 'GroupAnnouncementOnlyChanged':
      case 'MessagePinned':
      case 'MessageUnpinned':
        break;
      default: {
        const unhandled: never = event;
        return unhandled;
      }
    }
  }
  return out;
}

/** Row keys as the database spells uuids (events may spell them in capitals; PostgreSQL does not care, a Map does). */
const key = (uuid: string): string => uuid.toLowerCase();
const memberKey = (userId: string, conversationId: string): string => `${key(userId)}/${key(conversationId)}`;
const bigint = z.string().transform(Number);

interface Conversation {
  readonly conversationId: string;
  messageCount: number;
  lastSeq: number;
}
interface Member {
  readonly userId: string;
  readonly conversationId: string;
  readSeq: number;
  readCount: number;
  deliveredSeq: number;
  leftSeq: number | null;
}
interface Message {
  readonly messageId: string;
  readonly conversationId: string;
  readonly seq: number;
  readonly senderId: string;
  deleted: boolean;
  mentionsSeq: number;
}
/** The mention rows of a message (its conversation and seq): written as they end the batch. */
interface Mentions {
  readonly conversationId: string;
  readonly seq: number;
  readonly senderId: string;
  users: string[];
  /** Its stored rows go first (an edit or deletion replaced them). */
  clear: boolean;
}

/** Whom a message's mentions write a row for: the users named but the sender, and @all's row. */
function mentioned(mentions: { userIds: string[]; all: boolean }, senderId: string): string[] {
  return [...(mentions.all ? [EVERYONE] : []), ...mentions.userIds.filter((u) => u !== senderId)];
}

async function applyBatch(m: EntityManager, batch: readonly Applied[]): Promise<void> {
  if (batch.length === 0) return;
  const state = await load(m, batch);
  const { conversations, members, messages, storedOrdinal } = state;
  const changed = { conversations: new Set<Conversation>(), members: new Set<Member>(), messages: new Set<Message>() };
  /** Messages new in this batch, in log order: inserted at the end with their last state. */
  const fresh: (Message & { ordinal: number })[] = [];
  /** Per conversation, the seq and ordinal of its messages new in this batch so far (both increasing). */
  const freshOf = new Map<string, { seq: number; ordinal: number }[]>();
  const mentions = new Map<string, Mentions>();

  const join = (conversationId: string, userId: string, seq: number): void => {
    // Whatever was said before joining counts as read.
    const conversation = conversations.get(key(conversationId));
    if (!conversation) return;
    const k = memberKey(userId, conversationId);
    const member = members.get(k);
    if (!member) {
      const joined: Member = {
        userId: key(userId),
        conversationId: conversation.conversationId,
        readSeq: seq,
        readCount: conversation.messageCount,
        deliveredSeq: -1,
        leftSeq: null,
      };
      members.set(k, joined);
      changed.members.add(joined);
    } else if (member.readSeq < seq) {
      member.readSeq = seq;
      member.readCount = conversation.messageCount;
      member.leftSeq = null;
      changed.members.add(member);
    }
  };
  /** How many messages of a conversation are up to `seq`: the ordinal of the last of them. */
  const ordinalAt = (conversationId: string, seq: number): number => {
    const mine = freshOf.get(conversationId) ?? [];
    for (let i = mine.length - 1; i >= 0; i--) if (mine[i]!.seq <= seq) return mine[i]!.ordinal;
    return storedOrdinal.get(`${conversationId}/${seq}`) ?? 0;
  };

  for (const { event, seq } of batch) {
    switch (event.type) {
      case 'DirectConversationStarted':
      case 'GroupCreated': {
        const id = key(event.data.conversationId);
        if (!conversations.has(id)) {
          const created = { conversationId: id, messageCount: 0, lastSeq: seq };
          conversations.set(id, created);
          changed.conversations.add(created);
        }
        const joining =
          event.type === 'GroupCreated' ? [event.data.ownerId, ...event.data.memberIds] : event.data.memberIds;
        for (const userId of joining) join(id, userId, seq);
        break;
      }
      case 'MemberJoined':
        join(event.data.conversationId, event.data.userId, seq);
        break;
      case 'MemberLeft':
      case 'MemberKicked': {
        const member = members.get(memberKey(event.data.userId, event.data.conversationId));
        if (member && (member.leftSeq === null || member.leftSeq < seq)) {
          member.leftSeq = seq;
          changed.members.add(member);
        }
        break;
      }
      case 'MessageSent': {
        // A new message (a seq past its conversation's last) gets the next ordinal of its
        // conversation, and the sender has read up to it. A replay finds no new message.
        const d = event.data;
        const conversation = conversations.get(key(d.conversationId));
        if (!conversation || seq <= conversation.lastSeq) break;
        const ordinal = conversation.messageCount + 1;
        conversation.messageCount = ordinal;
        conversation.lastSeq = seq;
        changed.conversations.add(conversation);
        const message = {
          messageId: key(d.messageId),
          conversationId: conversation.conversationId,
          seq,
          senderId: key(d.senderId),
          deleted: false,
          mentionsSeq: seq,
          ordinal,
        };
        fresh.push(message);
        // A message id already stored keeps its row (the insert does nothing), as it would alone.
        if (!messages.has(message.messageId)) messages.set(message.messageId, message);
        const list = freshOf.get(conversation.conversationId) ?? [];
        list.push({ seq, ordinal });
        freshOf.set(conversation.conversationId, list);
        const sender = members.get(memberKey(d.senderId, d.conversationId));
        if (sender && sender.readSeq < seq) {
          sender.readSeq = seq;
          sender.readCount = ordinal;
          changed.members.add(sender);
        }
        // Only new messages: a message applied again would bring back mentions its deletion removed.
        const named = mentioned(d.mentions, d.senderId);
        const k = `${conversation.conversationId}/${seq}`;
        const rows = mentions.get(k);
        if (rows) rows.users.push(...named);
        else
          mentions.set(k, {
            conversationId: conversation.conversationId,
            seq,
            senderId: message.senderId,
            users: named,
            clear: false,
          });
        break;
      }
      case 'MessageEdited': {
        // Whom the message names now; an older edit applied again changes nothing.
        const d = event.data;
        const message = messages.get(key(d.messageId));
        if (!message || message.mentionsSeq >= seq || message.deleted) break;
        message.mentionsSeq = seq;
        changed.messages.add(message);
        mentions.set(`${key(d.conversationId)}/${message.seq}`, {
          conversationId: key(d.conversationId),
          seq: message.seq,
          senderId: message.senderId,
          users: mentioned(d.mentions, message.senderId),
          clear: true,
        });
        break;
      }
      case 'MessageDeleted': {
        // Still counted (ordinals stay), marked so that unread counts leave it out.
        const message = messages.get(key(event.data.messageId));
        if (!message) break;
        message.deleted = true;
        changed.messages.add(message);
        mentions.set(`${message.conversationId}/${message.seq}`, {
          conversationId: message.conversationId,
          seq: message.seq,
          senderId: message.senderId,
          users: [],
          clear: true,
        });
        break;
      }
      case 'ConversationRead': {
        const d = event.data;
        const member = members.get(memberKey(d.userId, d.conversationId));
        if (!member || member.readSeq >= d.upToSeq) break;
        member.readSeq = d.upToSeq;
        member.readCount = ordinalAt(member.conversationId, d.upToSeq);
        changed.members.add(member);
        break;
      }
      case 'MessagesDelivered': {
        const d = event.data;
        const member = members.get(memberKey(d.userId, d.conversationId));
        if (!member || member.deliveredSeq >= d.upToSeq) break;
        member.deliveredSeq = d.upToSeq;
        changed.members.add(member);
        break;
      }
      default: {
        const unhandled: never = event;
        return unhandled;
      }
    }
  }
  await write(m, { ...changed, fresh, mentions: [...mentions.values()] });
}

/**
 * The rows the batch touches, as they were before it: its conversations, its members (those
 * who join, leave, send or move a marker), the messages its edits and deletions name, and
 * for each read marker's seq the ordinal of the last stored message up to it.
 */
async function load(
  m: EntityManager,
  batch: readonly Applied[],
): Promise<{
  conversations: Map<string, Conversation>;
  members: Map<string, Member>;
  messages: Map<string, Message>;
  storedOrdinal: Map<string, number>;
}> {
  const conversationIds = new Set<string>();
  const memberKeys = new Map<string, [string, string]>();
  const messageIds = new Set<string>();
  const reads = new Map<string, [string, number]>();
  const member = (userId: string, conversationId: string): void => {
    memberKeys.set(memberKey(userId, conversationId), [key(userId), key(conversationId)]);
  };
  for (const { event } of batch) {
    switch (event.type) {
      case 'DirectConversationStarted':
      case 'GroupCreated': {
        conversationIds.add(key(event.data.conversationId));
        const joining =
          event.type === 'GroupCreated' ? [event.data.ownerId, ...event.data.memberIds] : event.data.memberIds;
        for (const userId of joining) member(userId, event.data.conversationId);
        break;
      }
      case 'MemberJoined':
        conversationIds.add(key(event.data.conversationId));
        member(event.data.userId, event.data.conversationId);
        break;
      case 'MemberLeft':
      case 'MemberKicked':
        member(event.data.userId, event.data.conversationId);
        break;
      case 'MessageSent':
        conversationIds.add(key(event.data.conversationId));
        member(event.data.senderId, event.data.conversationId);
        break;
      case 'MessageEdited':
      case 'MessageDeleted':
        messageIds.add(key(event.data.messageId));
        break;
      case 'ConversationRead':
        member(event.data.userId, event.data.conversationId);
        reads.set(`${key(event.data.conversationId)}/${event.data.upToSeq}`, [
          key(event.data.conversationId),
          event.data.upToSeq,
        ]);
        break;
      case 'MessagesDelivered':
        member(event.data.userId, event.data.conversationId);
        break;
      default: {
        const unhandled: never = event;
        return unhandled;
      }
    }
  }
  const conversations = new Map<string, Conversation>();
  if (conversationIds.size > 0)
    for (const row of await select(
      m,
      z.object({ conversation_id: z.string(), message_count: bigint, last_seq: bigint }),
      `SELECT conversation_id, message_count::text AS message_count, last_seq::text AS last_seq
         FROM rm_inbox_v1_conversations WHERE conversation_id = ANY($1::uuid[])`,
      [[...conversationIds]],
    ))
      conversations.set(row.conversation_id, {
        conversationId: row.conversation_id,
        messageCount: row.message_count,
        lastSeq: row.last_seq,
      });
  const members = new Map<string, Member>();
  if (memberKeys.size > 0) {
    const keys = [...memberKeys.values()];
    for (const row of await select(
      m,
      z.object({
        user_id: z.string(),
        conversation_id: z.string(),
        read_seq: bigint,
        read_count: bigint,
        delivered_seq: bigint,
        left_seq: bigint.nullable(),
      }),
      `SELECT user_id, conversation_id, read_seq::text AS read_seq, read_count::text AS read_count,
              delivered_seq::text AS delivered_seq, left_seq::text AS left_seq
         FROM rm_inbox_v1_members JOIN unnest($1::uuid[], $2::uuid[]) AS k(user_id, conversation_id)
              USING (user_id, conversation_id)`,
      [keys.map(([u]) => u), keys.map(([, c]) => c)],
    ))
      members.set(memberKey(row.user_id, row.conversation_id), {
        userId: row.user_id,
        conversationId: row.conversation_id,
        readSeq: row.read_seq,
        readCount: row.read_count,
        deliveredSeq: row.delivered_seq,
        leftSeq: row.left_seq,
      });
  }
  const messages = new Map<string, Message>();
  if (messageIds.size > 0)
    for (const row of await select(
      m,
      z.object({
        message_id: z.string(),
        conversation_id: z.string(),
        seq: bigint,
        sender_id: z.string(),
        deleted: z.boolean(),
        mentions_seq: bigint,
      }),
      `SELECT message_id, conversation_id, seq::text AS seq, sender_id, deleted, mentions_seq::text AS mentions_seq
         FROM rm_inbox_v1_messages WHERE message_id = ANY($1::uuid[])`,
      [[...messageIds]],
    ))
      messages.set(row.message_id, {
        messageId: row.message_id,
        conversationId: row.conversation_id,
        seq: row.seq,
        senderId: row.sender_id,
        deleted: row.deleted,
        mentionsSeq: row.mentions_seq,
      });
  const storedOrdinal = new Map<string, number>();
  if (reads.size > 0) {
    const wanted = [...reads.values()];
    // Ordinals grow with seqs in a conversation (a new message is past its last seq and
    // takes the next ordinal), so the last message up to a seq has the greatest ordinal.
    for (const row of await select(
      m,
      z.object({ conversation_id: z.string(), seq: bigint, ordinal: bigint.nullable() }),
      `SELECT u.conversation_id, u.seq::text AS seq,
              (SELECT x.ordinal FROM rm_inbox_v1_messages x
                WHERE x.conversation_id = u.conversation_id AND x.seq <= u.seq ORDER BY x.seq DESC LIMIT 1)::text AS ordinal
         FROM unnest($1::uuid[], $2::bigint[]) AS u(conversation_id, seq)`,
      [wanted.map(([c]) => c), wanted.map(([, s]) => s)],
    ))
      if (row.ordinal !== null) storedOrdinal.set(`${row.conversation_id}/${row.seq}`, row.ordinal);
  }
  return { conversations, members, messages, storedOrdinal };
}

/** What the fold changed, one statement per table (the mentions two: the replaced rows go, the new ones come). */
async function write(
  m: EntityManager,
  changed: {
    conversations: ReadonlySet<Conversation>;
    members: ReadonlySet<Member>;
    messages: ReadonlySet<Message>;
    fresh: readonly (Message & { ordinal: number })[];
    mentions: readonly Mentions[];
  },
): Promise<void> {
  // Counters and markers as the fold left them: it read them in this transaction, and this
  // projection is their only writer.
  const conversations = [...changed.conversations];
  if (conversations.length > 0)
    await m.query(
      `INSERT INTO rm_inbox_v1_conversations (conversation_id, message_count, last_seq)
       SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[])
       ON CONFLICT (conversation_id) DO UPDATE SET message_count = excluded.message_count, last_seq = excluded.last_seq`,
      [
        conversations.map((c) => c.conversationId),
        conversations.map((c) => c.messageCount),
        conversations.map((c) => c.lastSeq),
      ],
    );
  const { fresh } = changed;
  if (fresh.length > 0)
    await m.query(
      `INSERT INTO rm_inbox_v1_messages (conversation_id, seq, ordinal, message_id, sender_id, mentions_seq, deleted)
       SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::uuid[], $5::uuid[], $6::bigint[], $7::boolean[])
       ON CONFLICT DO NOTHING`,
      [
        fresh.map((x) => x.conversationId),
        fresh.map((x) => x.seq),
        fresh.map((x) => x.ordinal),
        fresh.map((x) => x.messageId),
        fresh.map((x) => x.senderId),
        fresh.map((x) => x.mentionsSeq),
        fresh.map((x) => x.deleted),
      ],
    );
  const isFresh = new Set<Message>(fresh);
  const stored = [...changed.messages].filter((x) => !isFresh.has(x));
  if (stored.length > 0)
    await m.query(
      `UPDATE rm_inbox_v1_messages x SET deleted = u.deleted, mentions_seq = u.mentions_seq
         FROM unnest($1::uuid[], $2::boolean[], $3::bigint[]) AS u(message_id, deleted, mentions_seq)
        WHERE x.message_id = u.message_id`,
      [stored.map((x) => x.messageId), stored.map((x) => x.deleted), stored.map((x) => x.mentionsSeq)],
    );
  const members = [...changed.members];
  if (members.length > 0)
    await m.query(
      `INSERT INTO rm_inbox_v1_members (user_id, conversation_id, read_seq, read_count, delivered_seq, left_seq)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])
       ON CONFLICT (user_id, conversation_id) DO UPDATE
         SET read_seq = excluded.read_seq, read_count = excluded.read_count,
             delivered_seq = excluded.delivered_seq, left_seq = excluded.left_seq`,
      [
        members.map((x) => x.userId),
        members.map((x) => x.conversationId),
        members.map((x) => x.readSeq),
        members.map((x) => x.readCount),
        members.map((x) => x.deliveredSeq),
        members.map((x) => x.leftSeq),
      ],
    );
  const cleared = changed.mentions.filter((x) => x.clear);
  if (cleared.length > 0)
    await m.query(
      `DELETE FROM rm_inbox_v1_mentions x USING unnest($1::uuid[], $2::bigint[]) AS u(conversation_id, seq)
        WHERE x.conversation_id = u.conversation_id AND x.seq = u.seq`,
      [cleared.map((x) => x.conversationId), cleared.map((x) => x.seq)],
    );
  const rows = changed.mentions.flatMap((x) => x.users.map((userId) => ({ ...x, userId })));
  if (rows.length > 0)
    await m.query(
      `INSERT INTO rm_inbox_v1_mentions (conversation_id, user_id, seq, sender_id)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::uuid[]) ON CONFLICT DO NOTHING`,
      [
        rows.map((x) => x.conversationId),
        rows.map((x) => x.userId),
        rows.map((x) => x.seq),
        rows.map((x) => x.senderId),
      ],
    );
}
