import { deciderSpecification } from '@herald/testing';
import { describe, it } from 'vitest';
import { evolve, initialConversation, type ConversationEvent } from './conversation.js';
import { decideReceipt, type ReceiptEvent } from './receipts.js';

const C = '11111111-1111-4111-8111-111111111111';
const [OWNER, BOB, CAROL] = [
  'aaaaaaaa-0000-4000-8000-000000000001',
  'aaaaaaaa-0000-4000-8000-000000000003',
  'aaaaaaaa-0000-4000-8000-000000000004',
] as const;

const { given } = deciderSpecification({
  decide: decideReceipt,
  evolve: (state, event: ConversationEvent, seq) => evolve(state, { event, seq }),
  initialState: () => initialConversation(C),
});
const created: ConversationEvent = {
  type: 'GroupCreated',
  data: { conversationId: C, ownerId: OWNER, name: 'team', memberIds: [BOB] },
};
const message: ConversationEvent = {
  type: 'MessageSent',
  data: {
    conversationId: C,
    messageId: 'bbbbbbbb-0000-4000-8000-000000000001',
    senderId: OWNER,
    text: 'hi',
    mentions: { userIds: [], all: false },
    attachments: [],
  },
};
const left: ConversationEvent = { type: 'MemberLeft', data: { conversationId: C, userId: BOB } };
const read = (upToSeq: number): ReceiptEvent => ({
  type: 'ConversationRead',
  data: { userId: BOB, conversationId: C, upToSeq },
});

describe('receipts decider', () => {
  it('a member marks the conversation read up to a seq it has', () => {
    given(created, message)
      .when({ type: 'MarkRead', actorId: BOB, upToSeq: 1 })
      .then([read(1)]);
  });

  it('a member marks messages delivered up to a seq it has', () => {
    given(created, message)
      .when({ type: 'MarkDelivered', actorId: BOB, upToSeq: 0 })
      .then([{ type: 'MessagesDelivered', data: { userId: BOB, conversationId: C, upToSeq: 0 } }]);
  });

  it('marking an older seq is recorded too: the inbox keeps the furthest marker', () => {
    given(created, message)
      .when({ type: 'MarkRead', actorId: BOB, upToSeq: 0 })
      .then([read(0)]);
  });

  it('a seq the conversation does not have yet is refused', () => {
    given(created, message).when({ type: 'MarkRead', actorId: BOB, upToSeq: 2 }).thenThrows('CONVERSATION.INVALID');
  });

  it('a stranger marking a conversation read is told it does not exist', () => {
    given(created, message).when({ type: 'MarkRead', actorId: CAROL, upToSeq: 1 }).thenThrows('CONVERSATION.NOT_FOUND');
  });

  it('a member who left marks nothing more', () => {
    given(created, message, left)
      .when({ type: 'MarkDelivered', actorId: BOB, upToSeq: 1 })
      .thenThrows('CONVERSATION.NOT_FOUND');
  });

  it('nobody marks a conversation that does not exist', () => {
    given().when({ type: 'MarkRead', actorId: BOB, upToSeq: 0 }).thenThrows('CONVERSATION.NOT_FOUND');
  });

  it('a member mutes a conversation until a time', () => {
    given(created)
      .when({ type: 'ChangeMute', actorId: BOB, muted: true, until: '2030-01-01T00:00:00.000Z' })
      .then([
        {
          type: 'ConversationMuteChanged',
          data: { conversationId: C, userId: BOB, muted: true, until: '2030-01-01T00:00:00.000Z' },
        },
      ]);
  });

  it('a mute without an end lasts until unmuted', () => {
    given(created)
      .when({ type: 'ChangeMute', actorId: BOB, muted: true })
      .then([{ type: 'ConversationMuteChanged', data: { conversationId: C, userId: BOB, muted: true, until: null } }]);
  });

  it('unmuting carries no end, whatever was sent with it', () => {
    given(created)
      .when({ type: 'ChangeMute', actorId: BOB, muted: false, until: '2030-01-01T00:00:00.000Z' })
      .then([{ type: 'ConversationMuteChanged', data: { conversationId: C, userId: BOB, muted: false } }]);
  });

  it('a stranger muting a conversation is told it does not exist', () => {
    given(created).when({ type: 'ChangeMute', actorId: CAROL, muted: true }).thenThrows('CONVERSATION.NOT_FOUND');
  });
});
