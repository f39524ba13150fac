/**
 * TypeORM's description of two timeline.v1 tables, for `bench/read-models.ts` (ADR 011):
 * the migrations stay the schema's source (`synchronize` is off), and no query or apply of
 * the app goes through it. Bigints are strings, as pg gives them; json columns are the
 * parsed values.
 */
import { EntitySchema } from 'typeorm';

export interface TimelineMessageEntityRow {
  conversationId: string;
  seq: string;
  messageId: string;
  senderId: string;
  text: string;
  replyTo: string | null;
  replyCount: number;
  mentions: { userIds: string[]; all: boolean };
  attachments: { url: string; name: string; mimeType: string; sizeBytes: number }[];
  sentAt: Date;
  editedAt: Date | null;
  deleted: boolean;
  updatedSeq: string;
}

export const TimelineMessageEntity = new EntitySchema<TimelineMessageEntityRow>({
  name: 'timeline.v1.message',
  tableName: 'rm_timeline_v1_messages',
  columns: {
    conversationId: { name: 'conversation_id', type: 'uuid', primary: true },
    seq: { type: 'bigint', primary: true },
    messageId: { name: 'message_id', type: 'uuid', unique: true },
    senderId: { name: 'sender_id', type: 'uuid' },
    text: { type: 'text' },
    replyTo: { name: 'reply_to', type: 'uuid', nullable: true },
    replyCount: { name: 'reply_count', type: 'integer', default: 0 },
    mentions: { type: 'json' },
    attachments: { type: 'json' },
    sentAt: { name: 'sent_at', type: 'timestamptz' },
    editedAt: { name: 'edited_at', type: 'timestamptz', nullable: true },
    deleted: { type: 'boolean', default: false },
    updatedSeq: { name: 'updated_seq', type: 'bigint' },
  },
});

/** A reaction's span of seqs: from the seq that added it to the one that removed it (null while it stands). */
export interface TimelineReactionEntityRow {
  messageId: string;
  emoji: string;
  userId: string;
  addedSeq: string;
  removedSeq: string | null;
}

export const TimelineReactionEntity = new EntitySchema<TimelineReactionEntityRow>({
  name: 'timeline.v1.reaction',
  tableName: 'rm_timeline_v1_reactions',
  columns: {
    messageId: { name: 'message_id', type: 'uuid', primary: true },
    emoji: { type: 'text', primary: true },
    userId: { name: 'user_id', type: 'uuid', primary: true },
    addedSeq: { name: 'added_seq', type: 'bigint', primary: true },
    removedSeq: { name: 'removed_seq', type: 'bigint', nullable: true },
  },
});
