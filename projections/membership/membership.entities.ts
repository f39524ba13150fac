/**
 * TypeORM's description of a membership.v1 table, for `bench/read-models.ts` (ADR 011):
 * the migrations stay the schema's source (`synchronize` is off), and no query of the app
 * reads through it. Bigints are strings, as pg gives them.
 */
import { EntitySchema } from 'typeorm';

export interface MemberEntityRow {
  conversationId: string;
  userId: string;
  role: string;
  joinedSeq: string;
  leftSeq: string | null;
  muted: boolean;
  mutedUntil: Date | null;
  updatedSeq: string;
  muteRevision: string;
}

export const MemberEntity = new EntitySchema<MemberEntityRow>({
  name: 'membership.v1.member',
  tableName: 'rm_membership_v1_members',
  columns: {
    conversationId: { name: 'conversation_id', type: 'uuid', primary: true },
    userId: { name: 'user_id', type: 'uuid', primary: true },
    role: { type: 'text' },
    joinedSeq: { name: 'joined_seq', type: 'bigint' },
    leftSeq: { name: 'left_seq', type: 'bigint', nullable: true },
    muted: { type: 'boolean', default: false },
    mutedUntil: { name: 'muted_until', type: 'timestamptz', nullable: true },
    updatedSeq: { name: 'updated_seq', type: 'bigint' },
    muteRevision: { name: 'mute_revision', type: 'bigint', default: -1 },
  },
});
