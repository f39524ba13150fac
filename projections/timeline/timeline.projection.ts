/**
 * timeline.v1: the messages of each conversation by seq, with edits, deletions, reactions
 * and reply counts applied, and their history: each version a change ended (with the seq
 * of that change) and each reaction's span of seqs, so that a query can show the
 * conversation as it was at any seq (a departed member's view, ADR 008). Idempotent: rows
 * are keyed by seq and message id, a reply counts only when its row is new, and later
 * changes are guarded by the seq that made them.
 *
 * A batch costs a fixed number of statements whatever its events (a rebuild's speed is its
 * statements per event, docs/benchmarks.md): its sends are inserted in one statement; the
 * rows its edits, deletions and replies touch, and the reaction spans its reactions and
 * deletions touch, are read in one statement each; the batch is then folded over them in
 * memory, in log order, by the same rules that applying one event at a time follows (the
 * guards below), and what changed is written back in one statement per table. Applying a
 * batch at once or its events one by one gives the same rows
 * (`batches.property.int.spec.ts`).
 */
import { streamPrefixOf, type EventIn } from '@herald/events';
import { z } from 'zod';
import { readEach, type Placed } from '../each-event.js';
import { select } from '../sql.js';
import type { Projection } from '@herald/projection-runtime';
import type { EntityManager } from 'typeorm';

type ConversationEvent = EventIn<'conversation'>;
type Of<T extends ConversationEvent['type']> = Placed<Extract<ConversationEvent, { type: T }>>;

export const TIMELINE = 'timeline.v1';

/** What a deleted message shows instead of its content. */
const NO_MENTIONS = '{"userIds":[],"all":false}';
const NO_ATTACHMENTS = '[]';

export function timelineProjection(): Projection {
  return {
    name: TIMELINE,
    filter: {
      streamPrefixes: [streamPrefixOf('conversation')],
      eventTypes: ['MessageSent', 'MessageEdited', 'MessageDeleted', 'ReactionAdded', 'ReactionRemoved'],
    },
    apply: (events, manager) => applyBatch(manager, readEach<ConversationEvent>(events)),
  };
}

/** Row keys as the database spells uuids (events may spell them in capitals; PostgreSQL does not care, a Map does). */
const key = (uuid: string): string => uuid.toLowerCase();

async function applyBatch(m: EntityManager, batch: readonly Placed<ConversationEvent>[]): Promise<void> {
  const sent: Of<'MessageSent'>[] = [];
  const changes: (Of<'MessageSent'> | Of<'MessageEdited'> | Of<'MessageDeleted'>)[] = [];
  const reactions: (Of<'ReactionAdded'> | Of<'ReactionRemoved'> | Of<'MessageDeleted'>)[] = [];
  for (const placed of batch) {
    const { event } = placed;
    switch (event.type) {
      case 'MessageSent':
        sent.push({ ...placed, event });
        // A new reply moves its thread's count, in log order with the deletions of replies.
        if (event.data.replyToMessageId !== undefined) changes.push({ ...placed, event });
        break;
      case 'MessageEdited':
        changes.push({ ...placed, event });
        break;
      case 'MessageDeleted':
        changes.push({ ...placed, event });
        reactions.push({ ...placed, event });
        break;
      case 'ReactionAdded':
        reactions.push({ ...placed, event });
        break;
      case 'ReactionRemoved':
        reactions.push({ ...placed, event });
        break;
      // Membership and moderation events are not the timeline's (its filter does not even read
      // them); pins are moderation.v1's, which shows them with the messages read from here.
      case 'DirectConversationStarted':
      case 'GroupCreated':
      case 'GroupRenamed':
      case 'GroupDetailsChanged':
      case 'MemberInvited':
      case 'InvitationWithdrawn':
      case 'InvitationLinkCreated':
      case 'InvitationLinkRevoked':
      case 'MemberJoined':
      case 'MemberLeft':
      case 'MemberKicked':
      case 'MemberRoleChanged':
      case 'GroupDissolved':
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
  // Sends first: a message's other events follow its send in the log, so they find its row.
  const inserted = sent.length > 0 ? await insertMessages(m, sent) : new Set<string>();
  if (changes.length > 0) await applyChanges(m, changes, inserted);
  if (reactions.length > 0) await applyReactions(m, reactions);
}

/** The batch's messages in one statement; answers the `conversation/seq` of those that are new (a replay inserts none). */
async function insertMessages(m: EntityManager, sent: readonly Of<'MessageSent'>[]): Promise<Set<string>> {
  const column = <T>(pick: (s: Of<'MessageSent'>) => T): T[] => sent.map(pick);
  const rows = await select(
    m,
    z.object({ conversation_id: z.string(), seq: z.string() }),
    `INSERT INTO rm_timeline_v1_messages (conversation_id, seq, message_id, sender_id, text, reply_to, mentions, attachments, sent_at, updated_seq)
     SELECT conversation_id, seq, message_id, sender_id, text, reply_to, mentions, attachments, sent_at, seq
       FROM unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::uuid[], $5::text[], $6::uuid[], $7::json[], $8::json[], $9::timestamptz[])
         AS u(conversation_id, seq, message_id, sender_id, text, reply_to, mentions, attachments, sent_at)
     ON CONFLICT DO NOTHING RETURNING conversation_id, seq::text AS seq`,
    [
      column((s) => s.event.data.conversationId),
      column((s) => s.seq),
      column((s) => s.event.data.messageId),
      column((s) => s.event.data.senderId),
      column((s) => s.event.data.text),
      column((s) => s.event.data.replyToMessageId ?? null),
      column((s) => JSON.stringify(s.event.data.mentions)),
      column((s) => JSON.stringify(s.event.data.attachments)),
      column((s) => s.occurredAt),
    ],
  );
  return new Set(rows.map((r) => `${r.conversation_id}/${r.seq}`));
}

/** A message row as the fold reads and writes it: json and times as their text, so what is kept is what was stored. */
const MessageRow = z.object({
  message_id: z.string(),
  reply_to: z.string().nullable(),
  reply_count: z.number(),
  text: z.string(),
  mentions: z.string(),
  attachments: z.string(),
  edited_at: z.string().nullable(),
  deleted: z.boolean(),
  updated_seq: z.string().transform(Number),
});
type MessageRow = z.output<typeof MessageRow>;

/**
 * Edits, deletions and reply counts, folded in log order over the rows they touch (read
 * once, after the batch's sends are in), each by the rule of its event alone:
 * - an edit or deletion applies when its seq is past the row's last change and the message
 *   is not deleted; it first keeps the version it ends (ADR 008);
 * - a new reply adds one to its thread, a reply's deletion takes one off, and each records
 *   the thread's count as of its seq.
 */
async function applyChanges(
  m: EntityManager,
  changes: readonly (Of<'MessageSent'> | Of<'MessageEdited'> | Of<'MessageDeleted'>)[],
  inserted: ReadonlySet<string>,
): Promise<void> {
  const isNew = (c: Of<'MessageSent'>): boolean => inserted.has(`${key(c.event.data.conversationId)}/${c.seq}`);
  const touched = new Set<string>();
  const deleted = new Set<string>();
  for (const c of changes) {
    if (c.event.type === 'MessageSent') {
      if (isNew({ ...c, event: c.event })) touched.add(key(c.event.data.replyToMessageId!));
      continue;
    }
    touched.add(key(c.event.data.messageId));
    if (c.event.type === 'MessageDeleted') deleted.add(key(c.event.data.messageId));
  }
  const rows = new Map(
    (
      await select(
        m,
        MessageRow,
        `WITH wanted AS (
           SELECT message_id FROM unnest($1::uuid[]) AS u(message_id)
           UNION SELECT c.reply_to FROM rm_timeline_v1_messages c WHERE c.message_id = ANY($2::uuid[]) AND c.reply_to IS NOT NULL)
         SELECT message_id, reply_to, reply_count, text, mentions::text AS mentions, attachments::text AS attachments,
                edited_at::text AS edited_at, deleted, updated_seq::text AS updated_seq
           FROM rm_timeline_v1_messages JOIN wanted USING (message_id)`,
        [[...touched], [...deleted]],
      )
    ).map((row) => [row.message_id, row]),
  );
  const versions: {
    id: string;
    until: number;
    text: string;
    mentions: string;
    attachments: string;
    at: string | null;
  }[] = [];
  const counts: { id: string; seq: number; count: number }[] = [];
  const counted = new Set<string>();
  const delta = new Map<string, number>();
  const changed = new Set<MessageRow>();
  /** The thread's count moves by `by` at `seq` (a first row at a seq wins, as ON CONFLICT DO NOTHING has it). */
  const thread = (parent: MessageRow, by: number, seq: number): void => {
    parent.reply_count += by;
    delta.set(parent.message_id, (delta.get(parent.message_id) ?? 0) + by);
    changed.add(parent);
    if (counted.has(`${parent.message_id}/${seq}`)) return;
    counted.add(`${parent.message_id}/${seq}`);
    counts.push({ id: parent.message_id, seq, count: parent.reply_count });
  };
  for (const c of changes) {
    const { event, seq } = c;
    if (event.type === 'MessageSent') {
      if (!isNew({ ...c, event })) continue;
      const parent = rows.get(key(event.data.replyToMessageId!));
      if (parent) thread(parent, 1, seq);
      continue;
    }
    const row = rows.get(key(event.data.messageId));
    if (!row || row.updated_seq >= seq || row.deleted) continue;
    versions.push({
      id: row.message_id,
      until: seq,
      text: row.text,
      mentions: row.mentions,
      attachments: row.attachments,
      at: row.edited_at,
    });
    row.updated_seq = seq;
    changed.add(row);
    if (event.type === 'MessageEdited') {
      row.text = event.data.text;
      row.mentions = JSON.stringify(event.data.mentions);
      row.edited_at = c.occurredAt;
      continue;
    }
    // The content is no longer shown to those who read the conversation now; the version
    // it ends is kept for those who left before (they read it as it was, ADR 008). A
    // deleted reply no longer counts in its thread.
    row.deleted = true;
    row.text = '';
    row.mentions = NO_MENTIONS;
    row.attachments = NO_ATTACHMENTS;
    const parent = row.reply_to === null ? undefined : rows.get(row.reply_to);
    if (parent) thread(parent, -1, seq);
  }
  if (versions.length > 0)
    await m.query(
      `INSERT INTO rm_timeline_v1_message_versions (message_id, until_seq, text, mentions, attachments, edited_at)
       SELECT message_id, until_seq, text, mentions::json, attachments::json, edited_at
         FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
           AS u(message_id, until_seq, text, mentions, attachments, edited_at)
       ON CONFLICT DO NOTHING`,
      [
        versions.map((v) => v.id),
        versions.map((v) => v.until),
        versions.map((v) => v.text),
        versions.map((v) => v.mentions),
        versions.map((v) => v.attachments),
        versions.map((v) => v.at),
      ],
    );
  if (changed.size > 0) {
    const rowsChanged = [...changed];
    // Counts move by their deltas; the content is the fold's last state.
    await m.query(
      `UPDATE rm_timeline_v1_messages m
          SET text = u.text, mentions = u.mentions::json, attachments = u.attachments::json, edited_at = u.edited_at,
              deleted = u.deleted, updated_seq = u.updated_seq, reply_count = m.reply_count + u.delta
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::boolean[], $7::bigint[], $8::int[])
           AS u(message_id, text, mentions, attachments, edited_at, deleted, updated_seq, delta)
        WHERE m.message_id = u.message_id`,
      [
        rowsChanged.map((r) => r.message_id),
        rowsChanged.map((r) => r.text),
        rowsChanged.map((r) => r.mentions),
        rowsChanged.map((r) => r.attachments),
        rowsChanged.map((r) => r.edited_at),
        rowsChanged.map((r) => r.deleted),
        rowsChanged.map((r) => r.updated_seq),
        rowsChanged.map((r) => delta.get(r.message_id) ?? 0),
      ],
    );
  }
  if (counts.length > 0)
    await m.query(
      `INSERT INTO rm_timeline_v1_reply_counts (message_id, seq, reply_count)
       SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::int[]) ON CONFLICT DO NOTHING`,
      [counts.map((c) => c.id), counts.map((c) => c.seq), counts.map((c) => c.count)],
    );
}

interface Span {
  readonly added: number;
  removed: number | null;
  /** Null for a span this batch began; else its removed_seq as stored. */
  readonly stored: { removed: number | null } | null;
}
interface Reaction {
  readonly messageId: string;
  readonly emoji: string;
  readonly userId: string;
  readonly spans: Span[];
}

/**
 * Reaction spans, folded in log order per (message, emoji, user) over the spans stored for
 * the keys the batch touches and the standing spans of the messages it deletes:
 * - an addition begins a span, unless one stands (a repeat) or this seq or a later one
 *   already touched this reaction (a replay);
 * - a removal ends the standing span if it began before its seq (one begun later is a re-add);
 * - a message's deletion ends its standing reactions that began before it.
 * Then the new spans are inserted and the stored ones that ended are updated, one statement each.
 */
async function applyReactions(
  m: EntityManager,
  events: readonly (Of<'ReactionAdded'> | Of<'ReactionRemoved'> | Of<'MessageDeleted'>)[],
): Promise<void> {
  const reactionKey = (messageId: string, emoji: string, userId: string): string =>
    JSON.stringify([key(messageId), emoji, key(userId)]);
  const keys = new Map<string, { messageId: string; emoji: string; userId: string }>();
  const deleted = new Set<string>();
  for (const { event } of events) {
    if (event.type === 'MessageDeleted') deleted.add(key(event.data.messageId));
    else {
      const d = event.data;
      keys.set(reactionKey(d.messageId, d.emoji, d.userId), {
        messageId: key(d.messageId),
        emoji: d.emoji,
        userId: key(d.userId),
      });
    }
  }
  const wanted = [...keys.values()];
  const stored = await select(
    m,
    z.object({
      message_id: z.string(),
      emoji: z.string(),
      user_id: z.string(),
      added_seq: z.string().transform(Number),
      removed_seq: z.string().transform(Number).nullable(),
    }),
    `SELECT message_id, emoji, user_id, added_seq::text AS added_seq, removed_seq::text AS removed_seq
       FROM rm_timeline_v1_reactions JOIN unnest($1::uuid[], $2::text[], $3::uuid[]) AS k(message_id, emoji, user_id)
            USING (message_id, emoji, user_id)
     UNION
     SELECT message_id, emoji, user_id, added_seq::text, removed_seq::text
       FROM rm_timeline_v1_reactions WHERE message_id = ANY($4::uuid[]) AND removed_seq IS NULL`,
    [wanted.map((k) => k.messageId), wanted.map((k) => k.emoji), wanted.map((k) => k.userId), [...deleted]],
  );
  const reactions = new Map<string, Reaction>();
  /** The keys of each message the fold knows, for its deletion. */
  const ofMessage = new Map<string, Set<Reaction>>();
  const reaction = (messageId: string, emoji: string, userId: string): Reaction => {
    const k = reactionKey(messageId, emoji, userId);
    let r = reactions.get(k);
    if (!r) {
      r = { messageId: key(messageId), emoji, userId: key(userId), spans: [] };
      reactions.set(k, r);
      const ofThis = ofMessage.get(r.messageId) ?? new Set<Reaction>();
      ofThis.add(r);
      ofMessage.set(r.messageId, ofThis);
    }
    return r;
  };
  for (const s of stored)
    reaction(s.message_id, s.emoji, s.user_id).spans.push({
      added: s.added_seq,
      removed: s.removed_seq,
      stored: { removed: s.removed_seq },
    });
  const end = (r: Reaction, seq: number): void => {
    for (const span of r.spans) if (span.removed === null && span.added < seq) span.removed = seq;
  };
  for (const { event, seq } of events) {
    if (event.type === 'MessageDeleted') {
      for (const r of ofMessage.get(key(event.data.messageId)) ?? []) end(r, seq);
      continue;
    }
    const r = reaction(event.data.messageId, event.data.emoji, event.data.userId);
    if (event.type === 'ReactionRemoved') end(r, seq);
    else if (!r.spans.some((s) => s.removed === null || s.removed >= seq || s.added >= seq))
      r.spans.push({ added: seq, removed: null, stored: null });
  }
  const begun: (Span & { r: Reaction })[] = [];
  const ended: (Span & { r: Reaction })[] = [];
  for (const r of reactions.values())
    for (const span of r.spans) {
      if (span.stored === null) begun.push({ ...span, r });
      else if (span.stored.removed !== span.removed) ended.push({ ...span, r });
    }
  const columns = (spans: readonly (Span & { r: Reaction })[]): unknown[] => [
    spans.map((s) => s.r.messageId),
    spans.map((s) => s.r.emoji),
    spans.map((s) => s.r.userId),
    spans.map((s) => s.added),
    spans.map((s) => s.removed),
  ];
  if (begun.length > 0)
    await m.query(
      `INSERT INTO rm_timeline_v1_reactions (message_id, emoji, user_id, added_seq, removed_seq)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::bigint[], $5::bigint[])`,
      columns(begun),
    );
  if (ended.length > 0)
    await m.query(
      `UPDATE rm_timeline_v1_reactions r SET removed_seq = u.removed_seq
         FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::bigint[], $5::bigint[])
           AS u(message_id, emoji, user_id, added_seq, removed_seq)
        WHERE r.message_id = u.message_id AND r.emoji = u.emoji AND r.user_id = u.user_id AND r.added_seq = u.added_seq`,
      columns(ended),
    );
}
