import { describe, expect, it } from 'vitest';
import {
  evolve,
  initialConversation,
  RECENT_MESSAGES,
  type Conversation,
  type ConversationEvent as CatalogueEvent,
} from './conversation.js';
import { decide, decideDelivery, NO_BLOCKS, type Blocks, type ConversationCommand } from './decide.js';
import { ConversationError } from './errors.js';

const C = '11111111-1111-4111-8111-111111111111';
const [OWNER, ADMIN, BOB, CAROL, DAVE] = [
  'aaaaaaaa-0000-4000-8000-000000000001',
  'aaaaaaaa-0000-4000-8000-000000000002',
  'aaaaaaaa-0000-4000-8000-000000000003',
  'aaaaaaaa-0000-4000-8000-000000000004',
  'aaaaaaaa-0000-4000-8000-000000000005',
] as const;
const M1 = 'bbbbbbbb-0000-4000-8000-000000000001';
const LINK = 'f'.repeat(64);
const M2 = 'bbbbbbbb-0000-4000-8000-000000000002';
const noMentions = { userIds: [], all: false };

/** given(events).when(command) → then events, or thenFails(code). */
function given(...history: (CatalogueEvent & { clientMessageId?: string })[]) {
  const state = history.reduce<Conversation>(
    (s, e, seq) => evolve(s, { event: e, seq, ...(e.clientMessageId ? { clientMessageId: e.clientMessageId } : {}) }),
    initialConversation(C),
  );
  return {
    when: (command: ConversationCommand, blocks: Blocks = NO_BLOCKS) => ({
      then: (expected: CatalogueEvent[]) =>
        expect(decideDelivery(command, state, blocks)).toEqual({ events: expected, withheld: false }),
      /** Decided as these events, answered as written, and not written. */
      thenWithheld: (expected: CatalogueEvent[]) =>
        expect(decideDelivery(command, state, blocks)).toEqual({ events: expected, withheld: true }),
      thenFails: (code: string) => {
        let error: unknown;
        try {
          decideDelivery(command, state, blocks);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(ConversationError);
        expect((error as ConversationError).code).toBe(code);
      },
    }),
  };
}

const group = (): CatalogueEvent => ({
  type: 'GroupCreated',
  data: { conversationId: C, ownerId: OWNER, name: 'team', memberIds: [ADMIN, BOB] },
});
const madeAdmin: CatalogueEvent = {
  type: 'MemberRoleChanged',
  data: { conversationId: C, userId: ADMIN, role: 'admin', changedBy: OWNER },
};
const sent = (messageId: string, senderId: string, clientMessageId = messageId) => ({
  type: 'MessageSent' as const,
  data: { conversationId: C, messageId, senderId, text: 'hi', mentions: noMentions, attachments: [] },
  clientMessageId,
});
const send = (
  actorId: string,
  messageId = M2,
  extra: Partial<Extract<ConversationCommand, { type: 'SendMessage' }>> = {},
) =>
  ({
    type: 'SendMessage',
    actorId,
    messageId,
    clientMessageId: `c-${messageId}`,
    text: 'hello',
    mentions: noMentions,
    attachments: [],
    ...extra,
  }) as ConversationCommand;

describe('conversation decider', () => {
  describe('direct conversations', () => {
    it('start once per pair; starting again decides nothing', () => {
      given()
        .when({ type: 'StartDirectConversation', actorId: BOB, conversationId: C, otherUserId: OWNER })
        .then([{ type: 'DirectConversationStarted', data: { conversationId: C, memberIds: [OWNER, BOB] } }]);
      given({ type: 'DirectConversationStarted', data: { conversationId: C, memberIds: [OWNER, BOB] } })
        .when({ type: 'StartDirectConversation', actorId: OWNER, conversationId: C, otherUserId: BOB })
        .then([]);
      given()
        .when({ type: 'StartDirectConversation', actorId: BOB, conversationId: C, otherUserId: BOB })
        .thenFails('CONVERSATION.INVALID');
    });

    it('have no admins: @all, invitations and renames are refused', () => {
      const dm: CatalogueEvent = {
        type: 'DirectConversationStarted',
        data: { conversationId: C, memberIds: [OWNER, BOB] },
      };
      given(dm)
        .when(send(BOB, M2, { mentions: { userIds: [], all: true } }))
        .thenFails('CONVERSATION.FORBIDDEN');
      given(dm).when({ type: 'InviteMember', actorId: BOB, userId: CAROL }).thenFails('CONVERSATION.INVALID');
      given(dm).when({ type: 'RenameGroup', actorId: BOB, name: 'x' }).thenFails('CONVERSATION.INVALID');
      given(dm).when(send(CAROL)).thenFails('CONVERSATION.NOT_FOUND');
    });
  });

  describe('blocks: every command of a blocked user in a direct conversation is decided, then withheld', () => {
    const dm: CatalogueEvent = {
      type: 'DirectConversationStarted',
      data: { conversationId: C, memberIds: [OWNER, BOB] },
    };
    // OWNER blocked BOB: the caller loaded it and passes it in.
    const blockedByOwner: Blocks = { blockedBy: new Set([OWNER]) };
    const edit = (extra: Partial<Extract<ConversationCommand, { type: 'EditMessage' }>> = {}) =>
      ({
        type: 'EditMessage',
        actorId: BOB,
        messageId: M1,
        text: 'edited',
        mentions: noMentions,
        ...extra,
      }) as ConversationCommand;

    it("start, send, reply and mention: decided as anyone's, withheld", () => {
      given()
        .when({ type: 'StartDirectConversation', actorId: BOB, conversationId: C, otherUserId: OWNER }, blockedByOwner)
        .thenWithheld([{ type: 'DirectConversationStarted', data: { conversationId: C, memberIds: [OWNER, BOB] } }]);
      given(dm)
        .when({ type: 'StartDirectConversation', actorId: BOB, conversationId: C, otherUserId: OWNER }, blockedByOwner)
        .then([]);
      const reply = send(BOB, M2, { replyToMessageId: M1, mentions: { userIds: [OWNER], all: false } });
      given(dm, sent(M1, OWNER))
        .when(reply, blockedByOwner)
        .thenWithheld(decide(reply, given_(dm, sent(M1, OWNER))));
      given(dm)
        .when(send(BOB), blockedByOwner)
        .thenWithheld(decide(send(BOB), given_(dm)));
    });

    it('edits (a mention added too), deletions and reactions: withheld', () => {
      const mine = sent(M1, BOB);
      given(dm, mine)
        .when(edit({ mentions: { userIds: [OWNER], all: false } }), blockedByOwner)
        .thenWithheld([
          {
            type: 'MessageEdited',
            data: { conversationId: C, messageId: M1, text: 'edited', mentions: { userIds: [OWNER], all: false } },
          },
        ]);
      given(dm, mine)
        .when({ type: 'DeleteMessage', actorId: BOB, messageId: M1 }, blockedByOwner)
        .thenWithheld([{ type: 'MessageDeleted', data: { conversationId: C, messageId: M1, deletedBy: BOB } }]);
      const theirs = sent(M1, OWNER);
      const reacted: CatalogueEvent = {
        type: 'ReactionAdded',
        data: { conversationId: C, messageId: M1, userId: BOB, emoji: '👍' },
      };
      given(dm, theirs)
        .when({ type: 'AddReaction', actorId: BOB, messageId: M1, emoji: '👍' }, blockedByOwner)
        .thenWithheld([reacted]);
      given(dm, theirs, reacted)
        .when({ type: 'RemoveReaction', actorId: BOB, messageId: M1, emoji: '👍' }, blockedByOwner)
        .thenWithheld([{ type: 'ReactionRemoved', data: reacted.data }]);
    });

    it('the same errors as anyone gets, so a refusal tells nothing either', () => {
      given(dm, sent(M1, OWNER)).when(edit(), blockedByOwner).thenFails('CONVERSATION.FORBIDDEN');
      given(dm).when(edit(), blockedByOwner).thenFails('MESSAGE.NOT_FOUND');
      given(dm)
        .when(send(BOB, M2, { text: ' ' }), blockedByOwner)
        .thenFails('CONVERSATION.INVALID');
    });

    it('no command of any type writes into a direct conversation for a blocked user (every type listed)', () => {
      // A Record over the command types: a new command type fails to compile until listed.
      const samples: Record<ConversationCommand['type'], ConversationCommand> = {
        StartDirectConversation: {
          type: 'StartDirectConversation',
          actorId: BOB,
          conversationId: C,
          otherUserId: OWNER,
        },
        CreateGroup: { type: 'CreateGroup', actorId: BOB, conversationId: C, name: 'g', memberIds: [OWNER] },
        RenameGroup: { type: 'RenameGroup', actorId: BOB, name: 'x' },
        ChangeGroupDetails: { type: 'ChangeGroupDetails', actorId: BOB, description: 'd' },
        InviteMember: { type: 'InviteMember', actorId: BOB, userId: CAROL },
        AcceptInvitation: { type: 'AcceptInvitation', actorId: BOB },
        JoinViaLink: { type: 'JoinViaLink', actorId: BOB, linkHash: LINK },
        CreateInvitationLink: { type: 'CreateInvitationLink', actorId: BOB, linkHash: LINK },
        RevokeInvitationLink: { type: 'RevokeInvitationLink', actorId: BOB, linkHash: LINK },
        LeaveGroup: { type: 'LeaveGroup', actorId: BOB },
        KickMember: { type: 'KickMember', actorId: BOB, userId: OWNER },
        ChangeRole: { type: 'ChangeRole', actorId: BOB, userId: OWNER, role: 'member' },
        TransferOwnership: { type: 'TransferOwnership', actorId: BOB, userId: OWNER },
        DissolveGroup: { type: 'DissolveGroup', actorId: BOB },
        SendMessage: send(BOB, M2, { replyToMessageId: M1, mentions: { userIds: [OWNER], all: false } }),
        EditMessage: edit({ messageId: 'cccccccc-0000-4000-8000-000000000001' }),
        DeleteMessage: { type: 'DeleteMessage', actorId: BOB, messageId: 'cccccccc-0000-4000-8000-000000000001' },
        AddReaction: { type: 'AddReaction', actorId: BOB, messageId: M1, emoji: '👍' },
        RemoveReaction: { type: 'RemoveReaction', actorId: BOB, messageId: M1, emoji: '🎉' },
      };
      const mine = sent('cccccccc-0000-4000-8000-000000000001', BOB);
      const reacted: CatalogueEvent = {
        type: 'ReactionAdded',
        data: { conversationId: C, messageId: M1, userId: BOB, emoji: '🎉' },
      };
      // Before the direct conversation exists (only its start can be a DM's), and in it.
      const cases: [CatalogueEvent[], ConversationCommand[]][] = [
        [[], [samples.StartDirectConversation]],
        [[dm, sent(M1, OWNER), mine, reacted], Object.values(samples)],
      ];
      let withheld = 0;
      for (const [history, commands] of cases) {
        const state = given_(...history);
        for (const command of commands) {
          let decision;
          try {
            decision = decideDelivery(command, state, blockedByOwner);
          } catch {
            continue; // refused as anyone would be
          }
          expect(decision.events.length === 0 || decision.withheld, command.type).toBe(true);
          if (decision.withheld) withheld++;
        }
      }
      // The start, and in the conversation: send, edit, delete, add and remove a reaction.
      expect(withheld).toBe(6);
    });

    it('the one who blocked still writes; groups and other blocks change nothing', () => {
      given(dm)
        .when(send(OWNER), blockedByOwner)
        .then(decide(send(OWNER), given_(dm)));
      given(dm)
        .when(send(BOB), { blockedBy: new Set([CAROL]) })
        .then(decide(send(BOB), given_(dm)));
      given(group())
        .when(send(BOB), blockedByOwner)
        .then(decide(send(BOB), given_(group())));
    });
  });

  describe('groups', () => {
    it('are created with the creator as owner, members deduplicated, only once', () => {
      given()
        .when({
          type: 'CreateGroup',
          actorId: OWNER,
          conversationId: C,
          name: 'team',
          memberIds: [ADMIN, BOB, BOB, OWNER],
        })
        .then([group()]);
      given(group())
        .when({ type: 'CreateGroup', actorId: OWNER, conversationId: C, name: 'x', memberIds: [] })
        .thenFails('CONVERSATION.ALREADY_EXISTS');
    });

    it('are managed by admins only', () => {
      given(group()).when({ type: 'RenameGroup', actorId: BOB, name: 'mine' }).thenFails('CONVERSATION.FORBIDDEN');
      given(group(), madeAdmin)
        .when({ type: 'RenameGroup', actorId: ADMIN, name: 'renamed' })
        .then([{ type: 'GroupRenamed', data: { conversationId: C, name: 'renamed' } }]);
      given(group()).when({ type: 'RenameGroup', actorId: OWNER, name: 'team' }).then([]);
      given(group(), madeAdmin)
        .when({ type: 'ChangeGroupDetails', actorId: ADMIN, announcement: 'read me' })
        .then([{ type: 'GroupDetailsChanged', data: { conversationId: C, announcement: 'read me' } }]);
    });

    it('take members by invitation (accepted by the invitee) or by link, never twice', () => {
      const invited: CatalogueEvent = {
        type: 'MemberInvited',
        data: { conversationId: C, userId: CAROL, invitedBy: ADMIN },
      };
      given(group(), madeAdmin).when({ type: 'InviteMember', actorId: ADMIN, userId: CAROL }).then([invited]);
      given(group(), madeAdmin, invited).when({ type: 'InviteMember', actorId: ADMIN, userId: CAROL }).then([]);
      // Who joins is the admins' business.
      given(group()).when({ type: 'InviteMember', actorId: BOB, userId: CAROL }).thenFails('CONVERSATION.FORBIDDEN');
      given(group()).when({ type: 'AcceptInvitation', actorId: CAROL }).thenFails('CONVERSATION.NOT_FOUND');
      given(group(), invited)
        .when({ type: 'AcceptInvitation', actorId: CAROL })
        .then([{ type: 'MemberJoined', data: { conversationId: C, userId: CAROL, via: 'invitation' } }]);
      const link: CatalogueEvent = {
        type: 'InvitationLinkCreated',
        data: { conversationId: C, linkHash: LINK, createdBy: OWNER },
      };
      given(group())
        .when({ type: 'CreateInvitationLink', actorId: BOB, linkHash: LINK })
        .thenFails('CONVERSATION.FORBIDDEN');
      given(group()).when({ type: 'CreateInvitationLink', actorId: OWNER, linkHash: LINK }).then([link]);
      given(group(), link)
        .when({ type: 'JoinViaLink', actorId: DAVE, linkHash: LINK })
        .then([{ type: 'MemberJoined', data: { conversationId: C, userId: DAVE, via: 'link' } }]);
      given(group()).when({ type: 'JoinViaLink', actorId: DAVE, linkHash: LINK }).thenFails('CONVERSATION.NOT_FOUND');
      const revoked: CatalogueEvent = {
        type: 'InvitationLinkRevoked',
        data: { conversationId: C, linkHash: LINK, revokedBy: OWNER },
      };
      given(group(), link).when({ type: 'RevokeInvitationLink', actorId: OWNER, linkHash: LINK }).then([revoked]);
      given(group(), link, revoked)
        .when({ type: 'JoinViaLink', actorId: DAVE, linkHash: LINK })
        .thenFails('CONVERSATION.NOT_FOUND');
      given(group(), link)
        .when({ type: 'JoinViaLink', actorId: BOB, linkHash: LINK })
        .thenFails('CONVERSATION.ALREADY_MEMBER');
      given(group()).when({ type: 'InviteMember', actorId: CAROL, userId: DAVE }).thenFails('CONVERSATION.NOT_FOUND');
    });

    it('let members leave (not the owner) and admins kick members (only the owner kicks admins)', () => {
      given(group())
        .when({ type: 'LeaveGroup', actorId: BOB })
        .then([{ type: 'MemberLeft', data: { conversationId: C, userId: BOB } }]);
      given(group()).when({ type: 'LeaveGroup', actorId: OWNER }).thenFails('CONVERSATION.OWNER_CANNOT_LEAVE');
      given(group(), madeAdmin)
        .when({ type: 'KickMember', actorId: ADMIN, userId: BOB })
        .then([{ type: 'MemberKicked', data: { conversationId: C, userId: BOB, kickedBy: ADMIN } }]);
      given(group()).when({ type: 'KickMember', actorId: BOB, userId: ADMIN }).thenFails('CONVERSATION.FORBIDDEN');
      given(group(), madeAdmin)
        .when({ type: 'KickMember', actorId: ADMIN, userId: OWNER })
        .thenFails('CONVERSATION.FORBIDDEN');
      given(group(), madeAdmin)
        .when({ type: 'KickMember', actorId: OWNER, userId: ADMIN })
        .then([{ type: 'MemberKicked', data: { conversationId: C, userId: ADMIN, kickedBy: OWNER } }]);
    });

    it('a member who left or was kicked can do nothing more (and learns nothing)', () => {
      const left: CatalogueEvent = { type: 'MemberLeft', data: { conversationId: C, userId: BOB } };
      given(group(), left).when(send(BOB)).thenFails('CONVERSATION.NOT_FOUND');
      given(group(), left).when({ type: 'LeaveGroup', actorId: BOB }).thenFails('CONVERSATION.NOT_FOUND');
      const kicked: CatalogueEvent = {
        type: 'MemberKicked',
        data: { conversationId: C, userId: BOB, kickedBy: OWNER },
      };
      given(group(), kicked)
        .when({ type: 'AddReaction', actorId: BOB, messageId: M1, emoji: '👍' })
        .thenFails('CONVERSATION.NOT_FOUND');
    });

    it('have roles set by the owner, who can hand ownership over', () => {
      given(group()).when({ type: 'ChangeRole', actorId: OWNER, userId: ADMIN, role: 'admin' }).then([madeAdmin]);
      given(group(), madeAdmin)
        .when({ type: 'ChangeRole', actorId: ADMIN, userId: BOB, role: 'admin' })
        .thenFails('CONVERSATION.FORBIDDEN');
      given(group())
        .when({ type: 'TransferOwnership', actorId: OWNER, userId: BOB })
        .then([
          { type: 'MemberRoleChanged', data: { conversationId: C, userId: BOB, role: 'owner', changedBy: OWNER } },
          { type: 'MemberRoleChanged', data: { conversationId: C, userId: OWNER, role: 'admin', changedBy: OWNER } },
        ]);
    });

    it('once dissolved, take nothing more', () => {
      const dissolved: CatalogueEvent = { type: 'GroupDissolved', data: { conversationId: C, dissolvedBy: OWNER } };
      given(group()).when({ type: 'DissolveGroup', actorId: ADMIN }).thenFails('CONVERSATION.FORBIDDEN');
      given(group()).when({ type: 'DissolveGroup', actorId: OWNER }).then([dissolved]);
      given(group(), dissolved).when(send(BOB)).thenFails('CONVERSATION.DISSOLVED');
      // Its members may still leave it, the owner too: it leaves their inbox.
      given(group(), dissolved)
        .when({ type: 'LeaveGroup', actorId: OWNER })
        .then([{ type: 'MemberLeft', data: { conversationId: C, userId: OWNER } }]);
      given(group(), dissolved).when({ type: 'LeaveGroup', actorId: DAVE }).thenFails('CONVERSATION.NOT_FOUND');
      // Only who holds the link or an invitation learns that the group was dissolved.
      const link: CatalogueEvent = {
        type: 'InvitationLinkCreated',
        data: { conversationId: C, linkHash: LINK, createdBy: OWNER },
      };
      given(group(), link, dissolved)
        .when({ type: 'JoinViaLink', actorId: DAVE, linkHash: LINK })
        .thenFails('CONVERSATION.DISSOLVED');
      given(group(), dissolved)
        .when({ type: 'JoinViaLink', actorId: DAVE, linkHash: LINK })
        .thenFails('CONVERSATION.NOT_FOUND');
      given(group(), dissolved).when({ type: 'AcceptInvitation', actorId: DAVE }).thenFails('CONVERSATION.NOT_FOUND');
    });
  });

  describe('messages', () => {
    it('are sent by members, once per client message id (a retry decides nothing)', () => {
      given(group())
        .when(send(BOB, M1, { clientMessageId: 'x1', text: 'hello', replyToMessageId: undefined }))
        .then([
          {
            type: 'MessageSent',
            data: {
              conversationId: C,
              messageId: M1,
              senderId: BOB,
              text: 'hello',
              mentions: noMentions,
              attachments: [],
            },
          },
        ]);
      given(group(), sent(M1, BOB, 'x1'))
        .when(send(BOB, M2, { clientMessageId: 'x1' }))
        .then([]);
      // The same client id from someone else is another message.
      expect(
        decide(
          send(OWNER, M2, { clientMessageId: 'x1' }),
          [group(), sent(M1, BOB, 'x1')].reduce<Conversation>(
            (s, e, seq) => evolve(s, { event: e, seq, clientMessageId: 'x1' }),
            initialConversation(C),
          ),
        ),
      ).toHaveLength(1);
      given(group()).when(send(CAROL)).thenFails('CONVERSATION.NOT_FOUND');
      given().when(send(BOB)).thenFails('CONVERSATION.NOT_FOUND');
    });

    it('the state keeps the newest RECENT_MESSAGES: older ones cannot be edited, and their retries are not recognized', () => {
      const ids = Array.from(
        { length: RECENT_MESSAGES + 1 },
        (_, i) => `cccccccc-0000-4000-8000-${String(i).padStart(12, '0')}`,
      );
      const history = [group(), ...ids.map((id) => sent(id, BOB, `c${id}`))];
      given(...history)
        .when({ type: 'EditMessage', actorId: BOB, messageId: ids[0]!, text: 'late', mentions: noMentions })
        .thenFails('MESSAGE.NOT_FOUND');
      given(...history)
        .when({ type: 'EditMessage', actorId: BOB, messageId: ids[1]!, text: 'in time', mentions: noMentions })
        .then([
          {
            type: 'MessageEdited',
            data: { conversationId: C, messageId: ids[1]!, text: 'in time', mentions: noMentions },
          },
        ]);
      given(...history)
        .when(send(BOB, M2, { clientMessageId: `c${ids[1]!}` }))
        .then([]);
      given(...history)
        .when(send(BOB, M2, { clientMessageId: `c${ids[0]!}` }))
        .then([expect.objectContaining({ type: 'MessageSent' }) as CatalogueEvent]);
    });

    it('check size, content, replies and mentions', () => {
      given(group())
        .when(send(BOB, M2, { text: 'x'.repeat(16_385) }))
        .thenFails('CONVERSATION.INVALID');
      // The limit is bytes as UTF-8: 5,462 euro signs are 16,386 bytes.
      given(group())
        .when(send(BOB, M2, { text: '€'.repeat(5_462) }))
        .thenFails('CONVERSATION.INVALID');
      given(group())
        .when(send(BOB, M2, { text: '€'.repeat(5_461) }))
        .then([expect.objectContaining({ type: 'MessageSent' }) as CatalogueEvent]);
      given(group())
        .when(send(BOB, M2, { text: '  ' }))
        .thenFails('CONVERSATION.INVALID');
      given(group())
        .when(send(BOB, M2, { replyToMessageId: M1 }))
        .thenFails('MESSAGE.NOT_FOUND');
      given(group(), sent(M1, OWNER))
        .when(send(BOB, M2, { replyToMessageId: M1 }))
        .then([
          {
            type: 'MessageSent',
            data: {
              conversationId: C,
              messageId: M2,
              senderId: BOB,
              text: 'hello',
              replyToMessageId: M1,
              mentions: noMentions,
              attachments: [],
            },
          },
        ]);
      given(group())
        .when(send(BOB, M2, { mentions: { userIds: [CAROL], all: false } }))
        .thenFails('CONVERSATION.INVALID');
      given(group())
        .when(send(BOB, M2, { mentions: { userIds: [], all: true } }))
        .thenFails('CONVERSATION.FORBIDDEN');
      expect(
        decide(send(OWNER, M2, { mentions: { userIds: [BOB, BOB], all: true } }), given_(group()))[0],
      ).toMatchObject({
        data: { mentions: { userIds: [BOB], all: true } },
      });
    });

    it('are edited by their author only, deleted by the author or an admin', () => {
      const edit = (actorId: string): ConversationCommand => ({
        type: 'EditMessage',
        actorId,
        messageId: M1,
        text: 'better',
        mentions: noMentions,
      });
      given(group(), sent(M1, BOB))
        .when(edit(BOB))
        .then([
          { type: 'MessageEdited', data: { conversationId: C, messageId: M1, text: 'better', mentions: noMentions } },
        ]);
      given(group(), sent(M1, BOB)).when(edit(OWNER)).thenFails('CONVERSATION.FORBIDDEN');
      const deleted: CatalogueEvent = {
        type: 'MessageDeleted',
        data: { conversationId: C, messageId: M1, deletedBy: ADMIN },
      };
      given(group(), madeAdmin, sent(M1, BOB))
        .when({ type: 'DeleteMessage', actorId: ADMIN, messageId: M1 })
        .then([deleted]);
      given(group(), sent(M1, OWNER))
        .when({ type: 'DeleteMessage', actorId: BOB, messageId: M1 })
        .thenFails('CONVERSATION.FORBIDDEN');
      given(group(), sent(M1, BOB), deleted).when({ type: 'DeleteMessage', actorId: BOB, messageId: M1 }).then([]);
      given(group(), sent(M1, BOB), deleted).when(edit(BOB)).thenFails('MESSAGE.DELETED');
    });

    it('take one reaction per emoji per user', () => {
      const add = (actorId: string, emoji = '👍'): ConversationCommand => ({
        type: 'AddReaction',
        actorId,
        messageId: M1,
        emoji,
      });
      const added: CatalogueEvent = {
        type: 'ReactionAdded',
        data: { conversationId: C, messageId: M1, userId: BOB, emoji: '👍' },
      };
      given(group(), sent(M1, OWNER)).when(add(BOB)).then([added]);
      given(group(), sent(M1, OWNER), added).when(add(BOB)).then([]);
      given(group(), sent(M1, OWNER), added)
        .when(add(OWNER))
        .then([{ ...added, data: { ...added.data, userId: OWNER } }]);
      given(group(), sent(M1, OWNER), added)
        .when({ type: 'RemoveReaction', actorId: BOB, messageId: M1, emoji: '👍' })
        .then([{ type: 'ReactionRemoved', data: added.data }]);
      given(group(), sent(M1, OWNER))
        .when({ type: 'RemoveReaction', actorId: BOB, messageId: M1, emoji: '👍' })
        .then([]);
    });
  });
});

function given_(...history: CatalogueEvent[]): Conversation {
  return history.reduce<Conversation>((s, e, seq) => evolve(s, { event: e, seq }), initialConversation(C));
}
