import { deciderSpecification } from '@herald/testing';
import { describe, expect, it } from 'vitest';
import {
  evolve,
  initialConversation,
  RECENT_MESSAGES,
  type Conversation,
  type ConversationEvent as CatalogueEvent,
} from './conversation.js';
import {
  decide,
  MAX_PINS,
  MAX_SILENCE_SECONDS,
  NO_FACTS,
  type ConversationCommand,
  type Decision,
  type Facts,
} from './decide.js';

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
/** When the commands are decided (the time comes in with the command: no clock in the domain). */
const NOW = new Date('2026-06-01T12:00:00.000Z');

/** A recorded event: a send keeps the client id it was sent with. */
type History = CatalogueEvent & { clientMessageId?: string };

const fold = (state: Conversation, e: History, seq: number): Conversation =>
  evolve(state, { event: e, seq, ...(e.clientMessageId ? { clientMessageId: e.clientMessageId } : {}) });
const { given } = deciderSpecification({ decide, evolve: fold, initialState: () => initialConversation(C) });
const stateOf = (...history: History[]): Conversation => history.reduce(fold, initialConversation(C));

/** Decided and written. */
const written = (events: CatalogueEvent[]): Decision => ({ events, withheld: false });
/** Decided as these events, answered as written, and not written. */
const withheld = (events: CatalogueEvent[]): Decision => ({ events, withheld: true });

const group = (): CatalogueEvent => ({
  type: 'GroupCreated',
  data: { conversationId: C, ownerId: OWNER, name: 'team', memberIds: [ADMIN, BOB] },
});
const dm: CatalogueEvent = { type: 'DirectConversationStarted', data: { conversationId: C, memberIds: [OWNER, BOB] } };
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
    now: NOW,
    ...extra,
  }) as ConversationCommand;
const startWith = (actorId: string, otherUserId: string): ConversationCommand => ({
  type: 'StartDirectConversation',
  actorId,
  conversationId: C,
  otherUserId,
});
const link: CatalogueEvent = {
  type: 'InvitationLinkCreated',
  data: { conversationId: C, linkHash: LINK, createdBy: OWNER },
};
const invited: CatalogueEvent = { type: 'MemberInvited', data: { conversationId: C, userId: CAROL, invitedBy: ADMIN } };

describe('conversation decider', () => {
  describe('direct conversations', () => {
    it('a direct conversation starts with both users as members', () => {
      given()
        .when(startWith(BOB, OWNER))
        .then(written([{ type: 'DirectConversationStarted', data: { conversationId: C, memberIds: [OWNER, BOB] } }]));
    });

    it('starting a direct conversation again decides nothing', () => {
      given(dm).when(startWith(OWNER, BOB)).then(written([]));
    });

    it('nobody starts a direct conversation with themselves', () => {
      given().when(startWith(BOB, BOB)).thenThrows('CONVERSATION.INVALID');
    });

    it('nobody mentions @all in a direct conversation', () => {
      given(dm)
        .when(send(BOB, M2, { mentions: { userIds: [], all: true } }))
        .thenThrows('CONVERSATION.FORBIDDEN');
    });

    it('nobody invites into a direct conversation', () => {
      given(dm).when({ type: 'InviteMember', actorId: BOB, userId: CAROL }).thenThrows('CONVERSATION.INVALID');
    });

    it('nobody renames a direct conversation', () => {
      given(dm).when({ type: 'ChangeGroup', actorId: BOB, name: 'x' }).thenThrows('CONVERSATION.INVALID');
    });

    it('a stranger to a direct conversation is told it does not exist', () => {
      given(dm).when(send(CAROL)).thenThrows('CONVERSATION.NOT_FOUND');
    });
  });

  describe('blocks (a fact looked up before deciding): every command of a blocked user in a direct conversation is decided, then withheld', () => {
    // OWNER blocked BOB: the caller looked it up and passes it in.
    const blockedByOwner: Facts = { ...NO_FACTS, blockedBy: new Set([OWNER]) };
    const edit = (extra: Partial<Extract<ConversationCommand, { type: 'EditMessage' }>> = {}) =>
      ({
        type: 'EditMessage',
        actorId: BOB,
        messageId: M1,
        text: 'edited',
        mentions: noMentions,
        now: NOW,
        ...extra,
      }) as ConversationCommand;
    const reacted: CatalogueEvent = {
      type: 'ReactionAdded',
      data: { conversationId: C, messageId: M1, userId: BOB, emoji: '👍' },
    };

    it("a blocked user's start of the direct conversation is decided and withheld", () => {
      given()
        .when(startWith(BOB, OWNER), blockedByOwner)
        .then(withheld([{ type: 'DirectConversationStarted', data: { conversationId: C, memberIds: [OWNER, BOB] } }]));
    });

    it('a blocked user starting a direct conversation that exists decides nothing', () => {
      given(dm).when(startWith(BOB, OWNER), blockedByOwner).then(written([]));
    });

    it("a blocked user's reply with a mention is decided as anyone's and withheld", () => {
      const reply = send(BOB, M2, { replyToMessageId: M1, mentions: { userIds: [OWNER], all: false } });
      given(dm, sent(M1, OWNER))
        .when(reply, blockedByOwner)
        .then(withheld(decide(reply, stateOf(dm, sent(M1, OWNER))).events));
    });

    it("a blocked user's send is decided as anyone's and withheld", () => {
      given(dm)
        .when(send(BOB), blockedByOwner)
        .then(withheld(decide(send(BOB), stateOf(dm)).events));
    });

    it("a blocked user's edit adding a mention is withheld", () => {
      given(dm, sent(M1, BOB))
        .when(edit({ mentions: { userIds: [OWNER], all: false } }), blockedByOwner)
        .then(
          withheld([
            {
              type: 'MessageEdited',
              data: { conversationId: C, messageId: M1, text: 'edited', mentions: { userIds: [OWNER], all: false } },
            },
          ]),
        );
    });

    it("a blocked user's deletion is withheld", () => {
      given(dm, sent(M1, BOB))
        .when({ type: 'DeleteMessage', actorId: BOB, messageId: M1 }, blockedByOwner)
        .then(withheld([{ type: 'MessageDeleted', data: { conversationId: C, messageId: M1, deletedBy: BOB } }]));
    });

    it("a blocked user's reaction is withheld", () => {
      given(dm, sent(M1, OWNER))
        .when({ type: 'AddReaction', actorId: BOB, messageId: M1, emoji: '👍' }, blockedByOwner)
        .then(withheld([reacted]));
    });

    it("a blocked user's removal of a reaction is withheld", () => {
      given(dm, sent(M1, OWNER), reacted)
        .when({ type: 'RemoveReaction', actorId: BOB, messageId: M1, emoji: '👍' }, blockedByOwner)
        .then(withheld([{ type: 'ReactionRemoved', data: reacted.data }]));
    });

    it("a blocked user editing someone else's message gets the error anyone gets", () => {
      given(dm, sent(M1, OWNER)).when(edit(), blockedByOwner).thenThrows('CONVERSATION.FORBIDDEN');
    });

    it('a blocked user editing a message that is none gets the error anyone gets', () => {
      given(dm).when(edit(), blockedByOwner).thenThrows('MESSAGE.NOT_FOUND');
    });

    it('a blocked user sending an empty message gets the error anyone gets', () => {
      given(dm)
        .when(send(BOB, M2, { text: ' ' }), blockedByOwner)
        .thenThrows('CONVERSATION.INVALID');
    });

    it('no command of any type writes into a direct conversation for a blocked user (every type listed)', () => {
      // A Record over the command types: a new command type fails to compile until listed.
      const samples: Record<ConversationCommand['type'], ConversationCommand> = {
        StartDirectConversation: startWith(BOB, OWNER),
        CreateGroup: { type: 'CreateGroup', actorId: BOB, conversationId: C, name: 'g', memberIds: [OWNER] },
        ChangeGroup: { type: 'ChangeGroup', actorId: BOB, name: 'x', description: 'd' },
        InviteMember: { type: 'InviteMember', actorId: BOB, userId: CAROL },
        WithdrawInvitation: { type: 'WithdrawInvitation', actorId: BOB, userId: CAROL },
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
        SilenceMember: { type: 'SilenceMember', actorId: BOB, userId: OWNER, durationSeconds: 60, now: NOW },
        UnsilenceMember: { type: 'UnsilenceMember', actorId: BOB, userId: OWNER },
        BanMember: { type: 'BanMember', actorId: BOB, userId: OWNER },
        UnbanMember: { type: 'UnbanMember', actorId: BOB, userId: OWNER },
        PinMessage: { type: 'PinMessage', actorId: BOB, messageId: M1 },
        UnpinMessage: { type: 'UnpinMessage', actorId: BOB, messageId: 'cccccccc-0000-4000-8000-000000000001' },
      };
      const mine = sent('cccccccc-0000-4000-8000-000000000001', BOB);
      const reactedParty: CatalogueEvent = {
        type: 'ReactionAdded',
        data: { conversationId: C, messageId: M1, userId: BOB, emoji: '🎉' },
      };
      const pinnedMine: CatalogueEvent = {
        type: 'MessagePinned',
        data: { conversationId: C, messageId: 'cccccccc-0000-4000-8000-000000000001', pinnedBy: OWNER },
      };
      // Before the direct conversation exists (only its start can be a DM's), and in it.
      const cases: [History[], ConversationCommand[]][] = [
        [[], [samples.StartDirectConversation]],
        [[dm, sent(M1, OWNER), mine, reactedParty, pinnedMine], Object.values(samples)],
      ];
      let withheldCount = 0;
      for (const [history, commands] of cases) {
        const state = stateOf(...history);
        for (const command of commands) {
          let decision;
          try {
            decision = decide(command, state, blockedByOwner);
          } catch {
            continue; // refused as anyone would be
          }
          expect(decision.events.length === 0 || decision.withheld, command.type).toBe(true);
          if (decision.withheld) withheldCount++;
        }
      }
      // The start, and in the conversation: send, edit, delete, add and remove a reaction, pin
      // and unpin (moderation is the groups', refused in a direct conversation as anyone's).
      expect(withheldCount).toBe(8);
    });

    it('the one who blocked still writes', () => {
      given(dm)
        .when(send(OWNER), blockedByOwner)
        .then(written(decide(send(OWNER), stateOf(dm)).events));
    });

    it('a block by someone outside the direct conversation changes nothing', () => {
      given(dm)
        .when(send(BOB), { ...NO_FACTS, blockedBy: new Set([CAROL]) })
        .then(written(decide(send(BOB), stateOf(dm)).events));
    });

    it('a block changes nothing in a group', () => {
      given(group())
        .when(send(BOB), blockedByOwner)
        .then(written(decide(send(BOB), stateOf(group())).events));
    });
  });

  describe('unknown users (a fact looked up before deciding)', () => {
    const unknown = (...ids: string[]): Facts => ({ ...NO_FACTS, unknownUsers: new Set(ids) });

    it('a direct conversation with a user who never registered is refused', () => {
      given().when(startWith(BOB, DAVE), unknown(DAVE)).thenThrows('USER.NOT_FOUND');
    });

    it('a group naming a user who never registered is refused', () => {
      given()
        .when(
          { type: 'CreateGroup', actorId: OWNER, conversationId: C, name: 'team', memberIds: [BOB, DAVE] },
          unknown(DAVE),
        )
        .thenThrows('USER.NOT_FOUND');
    });

    it('inviting a user who never registered is refused', () => {
      given(group(), madeAdmin)
        .when({ type: 'InviteMember', actorId: ADMIN, userId: DAVE }, unknown(DAVE))
        .thenThrows('USER.NOT_FOUND');
    });

    it('who may not invite learns nothing of users: the authorization error comes first', () => {
      given(group())
        .when({ type: 'InviteMember', actorId: BOB, userId: DAVE }, unknown(DAVE))
        .thenThrows('CONVERSATION.FORBIDDEN');
    });

    it('starting a direct conversation that exists decides nothing, whatever the facts', () => {
      given(dm).when(startWith(OWNER, BOB), unknown(BOB)).then(written([]));
    });

    it('users the command does not name do not matter', () => {
      given(group())
        .when(send(BOB), unknown(DAVE))
        .then(written(decide(send(BOB), stateOf(group())).events));
    });
  });

  describe('groups', () => {
    it('a group is created with the creator as owner and its members deduplicated', () => {
      given()
        .when({
          type: 'CreateGroup',
          actorId: OWNER,
          conversationId: C,
          name: 'team',
          memberIds: [ADMIN, BOB, BOB, OWNER],
        })
        .then(written([group()]));
    });

    it('a group is created only once', () => {
      given(group())
        .when({ type: 'CreateGroup', actorId: OWNER, conversationId: C, name: 'x', memberIds: [] })
        .thenThrows('CONVERSATION.ALREADY_EXISTS');
    });

    it('a member who is not an admin may not rename the group', () => {
      given(group()).when({ type: 'ChangeGroup', actorId: BOB, name: 'mine' }).thenThrows('CONVERSATION.FORBIDDEN');
    });

    it('an admin renames the group', () => {
      given(group(), madeAdmin)
        .when({ type: 'ChangeGroup', actorId: ADMIN, name: 'renamed' })
        .then(written([{ type: 'GroupRenamed', data: { conversationId: C, name: 'renamed' } }]));
    });

    it('renaming a group to its name decides nothing', () => {
      given(group()).when({ type: 'ChangeGroup', actorId: OWNER, name: 'team' }).then(written([]));
    });

    it('an admin changes the announcement', () => {
      given(group(), madeAdmin)
        .when({ type: 'ChangeGroup', actorId: ADMIN, announcement: 'read me' })
        .then(written([{ type: 'GroupDetailsChanged', data: { conversationId: C, announcement: 'read me' } }]));
    });

    it('a new name and new details are one decision: both events, in one append', () => {
      given(group())
        .when({ type: 'ChangeGroup', actorId: OWNER, name: 'renamed', description: null, announcement: 'hi' })
        .then(
          written([
            { type: 'GroupRenamed', data: { conversationId: C, name: 'renamed' } },
            { type: 'GroupDetailsChanged', data: { conversationId: C, description: null, announcement: 'hi' } },
          ]),
        );
    });

    it('an unchanged name with new details writes the details only', () => {
      given(group())
        .when({ type: 'ChangeGroup', actorId: OWNER, name: 'team', description: 'd' })
        .then(written([{ type: 'GroupDetailsChanged', data: { conversationId: C, description: 'd' } }]));
    });

    it('an admin invites a user', () => {
      given(group(), madeAdmin)
        .when({ type: 'InviteMember', actorId: ADMIN, userId: CAROL })
        .then(written([invited]));
    });

    it('inviting a user again decides nothing', () => {
      given(group(), madeAdmin, invited)
        .when({ type: 'InviteMember', actorId: ADMIN, userId: CAROL })
        .then(written([]));
    });

    it('who joins is the admins’ business: a member may not invite', () => {
      given(group()).when({ type: 'InviteMember', actorId: BOB, userId: CAROL }).thenThrows('CONVERSATION.FORBIDDEN');
    });

    it('a user who was not invited cannot accept an invitation', () => {
      given(group()).when({ type: 'AcceptInvitation', actorId: CAROL }).thenThrows('CONVERSATION.NOT_FOUND');
    });

    it('the invitee accepts the invitation and joins', () => {
      given(group(), invited)
        .when({ type: 'AcceptInvitation', actorId: CAROL })
        .then(written([{ type: 'MemberJoined', data: { conversationId: C, userId: CAROL, via: 'invitation' } }]));
    });

    const withdrawn: CatalogueEvent = {
      type: 'InvitationWithdrawn',
      data: { conversationId: C, userId: CAROL, withdrawnBy: ADMIN },
    };

    it('an admin withdraws a pending invitation; the invitee can no longer accept it', () => {
      given(group(), madeAdmin, invited)
        .when({ type: 'WithdrawInvitation', actorId: ADMIN, userId: CAROL })
        .then(written([withdrawn]));
      given(group(), madeAdmin, invited, withdrawn)
        .when({ type: 'AcceptInvitation', actorId: CAROL })
        .thenThrows('CONVERSATION.NOT_FOUND');
    });

    it('withdrawing an invitation that is not pending changes nothing; a member who is not an admin may not', () => {
      given(group(), madeAdmin).when({ type: 'WithdrawInvitation', actorId: ADMIN, userId: CAROL }).then(written([]));
      given(group(), invited)
        .when({ type: 'WithdrawInvitation', actorId: BOB, userId: CAROL })
        .thenThrows('CONVERSATION.FORBIDDEN');
      given(group(), invited)
        .when({ type: 'WithdrawInvitation', actorId: CAROL, userId: CAROL })
        .thenThrows('CONVERSATION.NOT_FOUND');
    });

    it('a member who is not an admin may not create an invitation link', () => {
      given(group())
        .when({ type: 'CreateInvitationLink', actorId: BOB, linkHash: LINK })
        .thenThrows('CONVERSATION.FORBIDDEN');
    });

    it('the owner creates an invitation link', () => {
      given(group())
        .when({ type: 'CreateInvitationLink', actorId: OWNER, linkHash: LINK })
        .then(written([link]));
    });

    it('a user with the link joins through it', () => {
      given(group(), link)
        .when({ type: 'JoinViaLink', actorId: DAVE, linkHash: LINK })
        .then(written([{ type: 'MemberJoined', data: { conversationId: C, userId: DAVE, via: 'link' } }]));
    });

    it('a link that was never created lets nobody in', () => {
      given(group()).when({ type: 'JoinViaLink', actorId: DAVE, linkHash: LINK }).thenThrows('CONVERSATION.NOT_FOUND');
    });

    const revoked: CatalogueEvent = {
      type: 'InvitationLinkRevoked',
      data: { conversationId: C, linkHash: LINK, revokedBy: OWNER },
    };

    it('the owner revokes an invitation link', () => {
      given(group(), link)
        .when({ type: 'RevokeInvitationLink', actorId: OWNER, linkHash: LINK })
        .then(written([revoked]));
    });

    it('a revoked link lets nobody in', () => {
      given(group(), link, revoked)
        .when({ type: 'JoinViaLink', actorId: DAVE, linkHash: LINK })
        .thenThrows('CONVERSATION.NOT_FOUND');
    });

    it('a member joining again through a link is told they are a member', () => {
      given(group(), link)
        .when({ type: 'JoinViaLink', actorId: BOB, linkHash: LINK })
        .thenThrows('CONVERSATION.ALREADY_MEMBER');
    });

    it('a stranger may not invite', () => {
      given(group()).when({ type: 'InviteMember', actorId: CAROL, userId: DAVE }).thenThrows('CONVERSATION.NOT_FOUND');
    });

    it('a member leaves', () => {
      given(group())
        .when({ type: 'LeaveGroup', actorId: BOB })
        .then(written([{ type: 'MemberLeft', data: { conversationId: C, userId: BOB } }]));
    });

    it('the owner may not leave', () => {
      given(group()).when({ type: 'LeaveGroup', actorId: OWNER }).thenThrows('CONVERSATION.OWNER_CANNOT_LEAVE');
    });

    it('an admin kicks a member', () => {
      given(group(), madeAdmin)
        .when({ type: 'KickMember', actorId: ADMIN, userId: BOB })
        .then(written([{ type: 'MemberKicked', data: { conversationId: C, userId: BOB, kickedBy: ADMIN } }]));
    });

    it('a member who is not an admin may not kick', () => {
      given(group()).when({ type: 'KickMember', actorId: BOB, userId: ADMIN }).thenThrows('CONVERSATION.FORBIDDEN');
    });

    it('an admin may not kick the owner', () => {
      given(group(), madeAdmin)
        .when({ type: 'KickMember', actorId: ADMIN, userId: OWNER })
        .thenThrows('CONVERSATION.FORBIDDEN');
    });

    it('the owner kicks an admin', () => {
      given(group(), madeAdmin)
        .when({ type: 'KickMember', actorId: OWNER, userId: ADMIN })
        .then(written([{ type: 'MemberKicked', data: { conversationId: C, userId: ADMIN, kickedBy: OWNER } }]));
    });

    const left: CatalogueEvent = { type: 'MemberLeft', data: { conversationId: C, userId: BOB } };

    it('a member who left can send nothing, and learns nothing', () => {
      given(group(), left).when(send(BOB)).thenThrows('CONVERSATION.NOT_FOUND');
    });

    it('a member who left cannot leave again', () => {
      given(group(), left).when({ type: 'LeaveGroup', actorId: BOB }).thenThrows('CONVERSATION.NOT_FOUND');
    });

    it('a member who was kicked cannot react, and learns nothing', () => {
      given(group(), { type: 'MemberKicked', data: { conversationId: C, userId: BOB, kickedBy: OWNER } })
        .when({ type: 'AddReaction', actorId: BOB, messageId: M1, emoji: '👍' })
        .thenThrows('CONVERSATION.NOT_FOUND');
    });

    it('the owner makes a member an admin', () => {
      given(group())
        .when({ type: 'ChangeRole', actorId: OWNER, userId: ADMIN, role: 'admin' })
        .then(written([madeAdmin]));
    });

    it('an admin may not change roles', () => {
      given(group(), madeAdmin)
        .when({ type: 'ChangeRole', actorId: ADMIN, userId: BOB, role: 'admin' })
        .thenThrows('CONVERSATION.FORBIDDEN');
    });

    it('the owner hands ownership over and becomes an admin', () => {
      given(group())
        .when({ type: 'TransferOwnership', actorId: OWNER, userId: BOB })
        .then(
          written([
            { type: 'MemberRoleChanged', data: { conversationId: C, userId: BOB, role: 'owner', changedBy: OWNER } },
            { type: 'MemberRoleChanged', data: { conversationId: C, userId: OWNER, role: 'admin', changedBy: OWNER } },
          ]),
        );
    });

    const dissolved: CatalogueEvent = { type: 'GroupDissolved', data: { conversationId: C, dissolvedBy: OWNER } };

    it('an admin may not dissolve the group', () => {
      given(group()).when({ type: 'DissolveGroup', actorId: ADMIN }).thenThrows('CONVERSATION.FORBIDDEN');
    });

    it('the owner dissolves the group', () => {
      given(group())
        .when({ type: 'DissolveGroup', actorId: OWNER })
        .then(written([dissolved]));
    });

    it('a dissolved group takes no message', () => {
      given(group(), dissolved).when(send(BOB)).thenThrows('CONVERSATION.DISSOLVED');
    });

    it('the members of a dissolved group may still leave it, the owner too: it leaves their inbox', () => {
      given(group(), dissolved)
        .when({ type: 'LeaveGroup', actorId: OWNER })
        .then(written([{ type: 'MemberLeft', data: { conversationId: C, userId: OWNER } }]));
    });

    it('a stranger cannot leave a dissolved group', () => {
      given(group(), dissolved).when({ type: 'LeaveGroup', actorId: DAVE }).thenThrows('CONVERSATION.NOT_FOUND');
    });

    it('who holds the link learns that the group was dissolved', () => {
      given(group(), link, dissolved)
        .when({ type: 'JoinViaLink', actorId: DAVE, linkHash: LINK })
        .thenThrows('CONVERSATION.DISSOLVED');
    });

    it('who holds no link does not learn that the group was dissolved', () => {
      given(group(), dissolved)
        .when({ type: 'JoinViaLink', actorId: DAVE, linkHash: LINK })
        .thenThrows('CONVERSATION.NOT_FOUND');
    });

    it('who holds no invitation does not learn that the group was dissolved', () => {
      given(group(), dissolved).when({ type: 'AcceptInvitation', actorId: DAVE }).thenThrows('CONVERSATION.NOT_FOUND');
    });
  });

  describe('messages', () => {
    it('a member sends a message', () => {
      given(group())
        .when(send(BOB, M1, { clientMessageId: 'x1', text: 'hello', replyToMessageId: undefined }))
        .then(
          written([
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
          ]),
        );
    });

    it('a retried send decides nothing and is answered with the message and seq of the first', () => {
      given(group(), sent(M1, BOB, 'x1'))
        .when(send(BOB, M2, { clientMessageId: 'x1' }))
        .then({ events: [], withheld: false, repeats: { messageId: M1, seq: 1 } });
    });

    it('a retried send is answered with the first even after its sender left', () => {
      given(group(), sent(M1, BOB, 'x1'), { type: 'MemberLeft', data: { conversationId: C, userId: BOB } })
        .when(send(BOB, M2, { clientMessageId: 'x1' }))
        .then({ events: [], withheld: false, repeats: { messageId: M1, seq: 1 } });
    });

    it('the same client message id from someone else is another message', () => {
      expect(
        decide(send(OWNER, M2, { clientMessageId: 'x1' }), stateOf(group(), sent(M1, BOB, 'x1'))).events,
      ).toHaveLength(1);
    });

    it('a stranger may not send', () => {
      given(group()).when(send(CAROL)).thenThrows('CONVERSATION.NOT_FOUND');
    });

    it('nobody sends to a conversation that does not exist', () => {
      given().when(send(BOB)).thenThrows('CONVERSATION.NOT_FOUND');
    });

    describe('the state keeps the newest RECENT_MESSAGES', () => {
      const ids = Array.from(
        { length: RECENT_MESSAGES + 1 },
        (_, i) => `cccccccc-0000-4000-8000-${String(i).padStart(12, '0')}`,
      );
      const history = [group(), ...ids.map((id) => sent(id, BOB, `c${id}`))];

      it('a message older than the newest RECENT_MESSAGES cannot be edited', () => {
        given(...history)
          .when({ type: 'EditMessage', actorId: BOB, messageId: ids[0]!, text: 'late', mentions: noMentions, now: NOW })
          .thenThrows('MESSAGE.NOT_FOUND');
      });

      it('a message among the newest RECENT_MESSAGES can be edited', () => {
        given(...history)
          .when({
            type: 'EditMessage',
            actorId: BOB,
            messageId: ids[1]!,
            text: 'in time',
            mentions: noMentions,
            now: NOW,
          })
          .then(
            written([
              {
                type: 'MessageEdited',
                data: { conversationId: C, messageId: ids[1]!, text: 'in time', mentions: noMentions },
              },
            ]),
          );
      });

      it('a retry of a send among the newest is recognized', () => {
        given(...history)
          .when(send(BOB, M2, { clientMessageId: `c${ids[1]!}` }))
          .then({ events: [], withheld: false, repeats: { messageId: ids[1]!, seq: 2 } });
      });

      it('a retry of an older send is not recognized: it is sent again', () => {
        given(...history)
          .when(send(BOB, M2, { clientMessageId: `c${ids[0]!}` }))
          .then(written([expect.objectContaining({ type: 'MessageSent' }) as CatalogueEvent]));
      });
    });

    it('a message has at most 16,384 characters', () => {
      given(group())
        .when(send(BOB, M2, { text: 'x'.repeat(16_385) }))
        .thenThrows('CONVERSATION.INVALID');
    });

    it('the size limit counts bytes as UTF-8: 5,462 euro signs (16,386 bytes) are too many', () => {
      given(group())
        .when(send(BOB, M2, { text: '€'.repeat(5_462) }))
        .thenThrows('CONVERSATION.INVALID');
    });

    it('5,461 euro signs fit', () => {
      given(group())
        .when(send(BOB, M2, { text: '€'.repeat(5_461) }))
        .then(written([expect.objectContaining({ type: 'MessageSent' }) as CatalogueEvent]));
    });

    it('a message needs text or an attachment', () => {
      given(group())
        .when(send(BOB, M2, { text: '  ' }))
        .thenThrows('CONVERSATION.INVALID');
    });

    it('a reply to a message that is none is refused', () => {
      given(group())
        .when(send(BOB, M2, { replyToMessageId: M1 }))
        .thenThrows('MESSAGE.NOT_FOUND');
    });

    it('a reply names the message it answers', () => {
      given(group(), sent(M1, OWNER))
        .when(send(BOB, M2, { replyToMessageId: M1 }))
        .then(
          written([
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
          ]),
        );
    });

    it('mentions must name members', () => {
      given(group())
        .when(send(BOB, M2, { mentions: { userIds: [CAROL], all: false } }))
        .thenThrows('CONVERSATION.INVALID');
    });

    it('only admins mention @all', () => {
      given(group())
        .when(send(BOB, M2, { mentions: { userIds: [], all: true } }))
        .thenThrows('CONVERSATION.FORBIDDEN');
    });

    it('the owner mentions @all, and mentions are deduplicated', () => {
      expect(
        decide(send(OWNER, M2, { mentions: { userIds: [BOB, BOB], all: true } }), stateOf(group())).events[0],
      ).toMatchObject({ data: { mentions: { userIds: [BOB], all: true } } });
    });

    const edit = (actorId: string): ConversationCommand => ({
      type: 'EditMessage',
      actorId,
      messageId: M1,
      text: 'better',
      mentions: noMentions,
      now: NOW,
    });
    const deleted: CatalogueEvent = {
      type: 'MessageDeleted',
      data: { conversationId: C, messageId: M1, deletedBy: ADMIN },
    };

    it('the author edits a message', () => {
      given(group(), sent(M1, BOB))
        .when(edit(BOB))
        .then(
          written([
            { type: 'MessageEdited', data: { conversationId: C, messageId: M1, text: 'better', mentions: noMentions } },
          ]),
        );
    });

    it('nobody but the author edits a message', () => {
      given(group(), sent(M1, BOB)).when(edit(OWNER)).thenThrows('CONVERSATION.FORBIDDEN');
    });

    it('an admin deletes a message', () => {
      given(group(), madeAdmin, sent(M1, BOB))
        .when({ type: 'DeleteMessage', actorId: ADMIN, messageId: M1 })
        .then(written([deleted]));
    });

    it("a member may not delete someone else's message", () => {
      given(group(), sent(M1, OWNER))
        .when({ type: 'DeleteMessage', actorId: BOB, messageId: M1 })
        .thenThrows('CONVERSATION.FORBIDDEN');
    });

    it('deleting a deleted message decides nothing', () => {
      given(group(), sent(M1, BOB), deleted)
        .when({ type: 'DeleteMessage', actorId: BOB, messageId: M1 })
        .then(written([]));
    });

    it('a deleted message cannot be edited', () => {
      given(group(), sent(M1, BOB), deleted).when(edit(BOB)).thenThrows('MESSAGE.DELETED');
    });

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

    it('a member reacts to a message', () => {
      given(group(), sent(M1, OWNER))
        .when(add(BOB))
        .then(written([added]));
    });

    it('the same reaction again decides nothing', () => {
      given(group(), sent(M1, OWNER), added).when(add(BOB)).then(written([]));
    });

    it('another user may react with the same emoji', () => {
      given(group(), sent(M1, OWNER), added)
        .when(add(OWNER))
        .then(written([{ ...added, data: { ...added.data, userId: OWNER } }]));
    });

    it('a member removes their reaction', () => {
      given(group(), sent(M1, OWNER), added)
        .when({ type: 'RemoveReaction', actorId: BOB, messageId: M1, emoji: '👍' })
        .then(written([{ type: 'ReactionRemoved', data: added.data }]));
    });

    it('removing a reaction that is not there decides nothing', () => {
      given(group(), sent(M1, OWNER))
        .when({ type: 'RemoveReaction', actorId: BOB, messageId: M1, emoji: '👍' })
        .then(written([]));
    });
  });

  describe('moderation: silences, bans, announcement-only groups, pins', () => {
    // OWNER owns the group, ADMIN is an admin, BOB a member; CAROL and DAVE are not in it.
    const base = (): History[] => [group(), madeAdmin];
    const inMinute = new Date(NOW.getTime() + 60_000).toISOString();
    const silence = (actorId: string, userId: string, durationSeconds = 60): ConversationCommand => ({
      type: 'SilenceMember',
      actorId,
      userId,
      durationSeconds,
      now: NOW,
    });
    const silenced = (userId: string, until: string = inMinute, by: string = ADMIN): CatalogueEvent => ({
      type: 'MemberSilenced',
      data: { conversationId: C, userId, until, silencedBy: by },
    });
    const at = (ms: number) => new Date(NOW.getTime() + ms);
    const ban = (actorId: string, userId: string): ConversationCommand => ({ type: 'BanMember', actorId, userId });
    const banned = (userId: string, by: string = ADMIN): CatalogueEvent => ({
      type: 'MemberBanned',
      data: { conversationId: C, userId, bannedBy: by },
    });
    const kicked = (userId: string, by: string = ADMIN): CatalogueEvent => ({
      type: 'MemberKicked',
      data: { conversationId: C, userId, kickedBy: by },
    });
    const announcementOnly = (on: boolean, by: string = ADMIN): CatalogueEvent => ({
      type: 'GroupAnnouncementOnlyChanged',
      data: { conversationId: C, announcementOnly: on, changedBy: by },
    });
    const pin = (actorId: string, messageId: string = M1): ConversationCommand => ({
      type: 'PinMessage',
      actorId,
      messageId,
    });
    const pinned = (messageId: string = M1, by: string = ADMIN): CatalogueEvent => ({
      type: 'MessagePinned',
      data: { conversationId: C, messageId, pinnedBy: by },
    });
    const editOf = (actorId: string, now: Date = NOW): ConversationCommand => ({
      type: 'EditMessage',
      actorId,
      messageId: M1,
      text: 'changed',
      mentions: noMentions,
      now,
    });

    describe('silence (禁言): decided with the time the command carries', () => {
      it('an admin silences a member until the time given plus the duration', () => {
        given(...base())
          .when(silence(ADMIN, BOB))
          .then(written([silenced(BOB)]));
      });

      it("a silenced member's sends and edits are refused with CONVERSATION.SILENCED until the end", () => {
        given(...base(), sent(M1, BOB), silenced(BOB))
          .when(send(BOB, M2, { now: at(59_999) }))
          .thenThrows('CONVERSATION.SILENCED');
        given(...base(), sent(M1, BOB), silenced(BOB))
          .when(editOf(BOB, at(59_999)))
          .thenThrows('CONVERSATION.SILENCED');
      });

      it('from its end on, the member sends again (no event needed: the time decides)', () => {
        given(...base(), silenced(BOB))
          .when(send(BOB, M2, { now: at(60_000) }))
          .then(written(decide(send(BOB, M2, { now: at(60_000) }), stateOf(...base())).events));
      });

      it('a silenced member still reads, reacts, deletes their own messages and leaves', () => {
        const state = stateOf(...base(), sent(M1, BOB), silenced(BOB));
        for (const command of [
          { type: 'AddReaction', actorId: BOB, messageId: M1, emoji: '👍' },
          { type: 'DeleteMessage', actorId: BOB, messageId: M1 },
          { type: 'LeaveGroup', actorId: BOB },
        ] as const) {
          expect(decide(command, state).events, command.type).toHaveLength(1);
        }
      });

      it('silencing again replaces the end (shorter or longer)', () => {
        given(...base(), silenced(BOB))
          .when(silence(ADMIN, BOB, 10))
          .then(written([silenced(BOB, at(10_000).toISOString())]));
      });

      it('an admin lifts a silence early, and the member sends at once', () => {
        given(...base(), silenced(BOB))
          .when({ type: 'UnsilenceMember', actorId: ADMIN, userId: BOB })
          .then(written([{ type: 'MemberUnsilenced', data: { conversationId: C, userId: BOB, unsilencedBy: ADMIN } }]));
        const lifted: CatalogueEvent = {
          type: 'MemberUnsilenced',
          data: { conversationId: C, userId: BOB, unsilencedBy: ADMIN },
        };
        expect(decide(send(BOB), stateOf(...base(), silenced(BOB), lifted)).events).toHaveLength(1);
      });

      it('lifting a silence that is none decides nothing', () => {
        given(...base())
          .when({ type: 'UnsilenceMember', actorId: ADMIN, userId: BOB })
          .then(written([]));
      });

      it('a silence outlasts leaving and coming back by a link', () => {
        given(...base(), silenced(BOB), { type: 'MemberLeft', data: { conversationId: C, userId: BOB } }, link, {
          type: 'MemberJoined',
          data: { conversationId: C, userId: BOB, via: 'link' },
        })
          .when(send(BOB))
          .thenThrows('CONVERSATION.SILENCED');
      });

      it('a retried send whose first attempt came before the silence is answered with it', () => {
        given(...base(), sent(M1, BOB, 'c1'), silenced(BOB))
          .when(send(BOB, M2, { clientMessageId: 'c1' }))
          .then({ events: [], withheld: false, repeats: { messageId: M1, seq: 2 } });
      });

      it('admins silence members; only the owner silences an admin; nobody the owner, or themselves', () => {
        given(...base())
          .when(silence(BOB, ADMIN))
          .thenThrows('CONVERSATION.FORBIDDEN');
        given(...base())
          .when(silence(ADMIN, OWNER))
          .thenThrows('CONVERSATION.FORBIDDEN');
        given(...base())
          .when(silence(OWNER, ADMIN))
          .then(written([silenced(ADMIN, inMinute, OWNER)]));
        given(...base())
          .when(silence(ADMIN, ADMIN))
          .thenThrows('CONVERSATION.INVALID');
        given(...base())
          .when(silence(OWNER, OWNER))
          .thenThrows('CONVERSATION.INVALID');
      });

      it('an admin silenced by the owner cannot send, nor lift their own silence; another admin may not lift it either', () => {
        const byOwner = silenced(ADMIN, inMinute, OWNER);
        given(...base(), byOwner)
          .when(send(ADMIN))
          .thenThrows('CONVERSATION.SILENCED');
        given(...base(), byOwner)
          .when({ type: 'UnsilenceMember', actorId: ADMIN, userId: ADMIN })
          .thenThrows('CONVERSATION.FORBIDDEN');
        const secondAdmin: CatalogueEvent = {
          type: 'MemberRoleChanged',
          data: { conversationId: C, userId: BOB, role: 'admin', changedBy: OWNER },
        };
        given(...base(), secondAdmin, byOwner)
          .when({ type: 'UnsilenceMember', actorId: BOB, userId: ADMIN })
          .thenThrows('CONVERSATION.FORBIDDEN');
      });

      it('only members are silenced, for 1 second to 366 days, and only in groups', () => {
        given(...base())
          .when(silence(ADMIN, CAROL))
          .thenThrows('CONVERSATION.INVALID');
        given(...base())
          .when(silence(ADMIN, BOB, 0))
          .thenThrows('CONVERSATION.INVALID');
        given(...base())
          .when(silence(ADMIN, BOB, 1.5))
          .thenThrows('CONVERSATION.INVALID');
        given(...base())
          .when(silence(ADMIN, BOB, MAX_SILENCE_SECONDS + 1))
          .thenThrows('CONVERSATION.INVALID');
        given(...base())
          .when(silence(ADMIN, BOB, MAX_SILENCE_SECONDS))
          .then(written([silenced(BOB, at(MAX_SILENCE_SECONDS * 1000).toISOString())]));
        given(dm).when(silence(OWNER, BOB)).thenThrows('CONVERSATION.INVALID');
      });

      it('an outsider is told the group does not exist', () => {
        given(...base())
          .when(silence(CAROL, BOB))
          .thenThrows('CONVERSATION.NOT_FOUND');
      });
    });

    describe('bans: a ban is a removal and a bar; a kick stays a kick', () => {
      it('banning a member bans, then removes them (the kick after the ban, in one decision)', () => {
        given(...base())
          .when(ban(ADMIN, BOB))
          .then(written([banned(BOB), kicked(BOB)]));
      });

      it('a user who is not a member may be banned (they must exist)', () => {
        given(...base())
          .when(ban(ADMIN, CAROL))
          .then(written([banned(CAROL)]));
        given(...base())
          .when(ban(ADMIN, CAROL), { ...NO_FACTS, unknownUsers: new Set([CAROL]) })
          .thenThrows('USER.NOT_FOUND');
      });

      it('a banned user joins neither by a link nor by an invitation, and is told so', () => {
        given(...base(), link, banned(BOB), kicked(BOB))
          .when({ type: 'JoinViaLink', actorId: BOB, linkHash: LINK })
          .thenThrows('CONVERSATION.BANNED');
        given(...base(), invited, banned(CAROL))
          .when({ type: 'AcceptInvitation', actorId: CAROL })
          .thenThrows('CONVERSATION.BANNED');
      });

      it('a banned user cannot be invited until unbanned', () => {
        given(...base(), banned(CAROL))
          .when({ type: 'InviteMember', actorId: ADMIN, userId: CAROL })
          .thenThrows('CONVERSATION.BANNED');
      });

      it('a ban ends a pending invitation: unbanned, they need a new one', () => {
        const unbanned: CatalogueEvent = {
          type: 'MemberUnbanned',
          data: { conversationId: C, userId: CAROL, unbannedBy: ADMIN },
        };
        given(...base(), invited, banned(CAROL), unbanned)
          .when({ type: 'AcceptInvitation', actorId: CAROL })
          .thenThrows('CONVERSATION.NOT_FOUND');
        given(...base(), invited, banned(CAROL), unbanned)
          .when({ type: 'InviteMember', actorId: ADMIN, userId: CAROL })
          .then(written([{ ...invited, data: { ...invited.data, invitedBy: ADMIN } }]));
      });

      it('an admin unbans: the user may join by a link again (unbanning makes nobody a member)', () => {
        const unbanned: CatalogueEvent = {
          type: 'MemberUnbanned',
          data: { conversationId: C, userId: BOB, unbannedBy: ADMIN },
        };
        given(...base(), link, banned(BOB), kicked(BOB))
          .when({ type: 'UnbanMember', actorId: ADMIN, userId: BOB })
          .then(written([unbanned]));
        given(...base(), link, banned(BOB), kicked(BOB), unbanned)
          .when({ type: 'JoinViaLink', actorId: BOB, linkHash: LINK })
          .then(written([{ type: 'MemberJoined', data: { conversationId: C, userId: BOB, via: 'link' } }]));
      });

      it('banning the banned, or unbanning someone not banned, decides nothing', () => {
        given(...base(), banned(CAROL))
          .when(ban(ADMIN, CAROL))
          .then(written([]));
        given(...base())
          .when({ type: 'UnbanMember', actorId: ADMIN, userId: CAROL })
          .then(written([]));
      });

      it('a kick is not a ban: the kicked member joins again by a link', () => {
        given(...base(), link, kicked(BOB))
          .when({ type: 'JoinViaLink', actorId: BOB, linkHash: LINK })
          .then(written([{ type: 'MemberJoined', data: { conversationId: C, userId: BOB, via: 'link' } }]));
      });

      it('admins ban members; only the owner bans an admin; nobody the owner, or themselves; members nobody', () => {
        given(...base())
          .when(ban(BOB, CAROL))
          .thenThrows('CONVERSATION.FORBIDDEN');
        given(...base())
          .when(ban(ADMIN, OWNER))
          .thenThrows('CONVERSATION.FORBIDDEN');
        given(...base())
          .when(ban(OWNER, ADMIN))
          .then(written([banned(ADMIN, OWNER), kicked(ADMIN, OWNER)]));
        given(...base())
          .when(ban(ADMIN, ADMIN))
          .thenThrows('CONVERSATION.INVALID');
        given(...base())
          .when({ type: 'UnbanMember', actorId: BOB, userId: CAROL })
          .thenThrows('CONVERSATION.FORBIDDEN');
        given(dm).when(ban(OWNER, BOB)).thenThrows('CONVERSATION.INVALID');
      });

      it('a banned former member is no member: their commands are answered as an outsider’s', () => {
        given(...base(), banned(BOB), kicked(BOB))
          .when(send(BOB))
          .thenThrows('CONVERSATION.NOT_FOUND');
      });
    });

    describe('announcement-only groups', () => {
      it('an admin makes the group announcement-only, and back; the same setting again decides nothing', () => {
        given(...base())
          .when({ type: 'ChangeGroup', actorId: ADMIN, announcementOnly: true })
          .then(written([announcementOnly(true)]));
        given(...base(), announcementOnly(true))
          .when({ type: 'ChangeGroup', actorId: ADMIN, announcementOnly: false })
          .then(written([announcementOnly(false)]));
        given(...base(), announcementOnly(true))
          .when({ type: 'ChangeGroup', actorId: ADMIN, announcementOnly: true })
          .then(written([]));
      });

      it('with a rename, in one decision', () => {
        given(...base())
          .when({ type: 'ChangeGroup', actorId: ADMIN, name: 'news', announcementOnly: true })
          .then(written([{ type: 'GroupRenamed', data: { conversationId: C, name: 'news' } }, announcementOnly(true)]));
      });

      it('members may not change it; a direct conversation has none', () => {
        given(...base())
          .when({ type: 'ChangeGroup', actorId: BOB, announcementOnly: true })
          .thenThrows('CONVERSATION.FORBIDDEN');
        given(dm)
          .when({ type: 'ChangeGroup', actorId: BOB, announcementOnly: true })
          .thenThrows('CONVERSATION.INVALID');
      });

      it("a member's sends and edits are refused with CONVERSATION.ANNOUNCEMENT_ONLY; they still react", () => {
        given(...base(), sent(M1, BOB), announcementOnly(true))
          .when(send(BOB))
          .thenThrows('CONVERSATION.ANNOUNCEMENT_ONLY');
        given(...base(), sent(M1, BOB), announcementOnly(true))
          .when(editOf(BOB))
          .thenThrows('CONVERSATION.ANNOUNCEMENT_ONLY');
        given(...base(), sent(M1, BOB), announcementOnly(true))
          .when({ type: 'AddReaction', actorId: BOB, messageId: M1, emoji: '👍' })
          .then(
            written([{ type: 'ReactionAdded', data: { conversationId: C, messageId: M1, userId: BOB, emoji: '👍' } }]),
          );
      });

      it('the owner and admins send; once open again, members do', () => {
        for (const who of [OWNER, ADMIN]) {
          expect(decide(send(who), stateOf(...base(), announcementOnly(true))).events).toHaveLength(1);
        }
        expect(
          decide(send(BOB), stateOf(...base(), announcementOnly(true), announcementOnly(false))).events,
        ).toHaveLength(1);
      });
    });

    describe('pins', () => {
      it('an admin pins a message; pinning it again decides nothing', () => {
        given(...base(), sent(M1, BOB))
          .when(pin(ADMIN))
          .then(written([pinned()]));
        given(...base(), sent(M1, BOB), pinned())
          .when(pin(OWNER))
          .then(written([]));
      });

      it('in a group a member may not pin or unpin; in a direct conversation either member may', () => {
        given(...base(), sent(M1, BOB))
          .when(pin(BOB))
          .thenThrows('CONVERSATION.FORBIDDEN');
        given(...base(), sent(M1, BOB), pinned())
          .when({ type: 'UnpinMessage', actorId: BOB, messageId: M1 })
          .thenThrows('CONVERSATION.FORBIDDEN');
        given(dm, sent(M1, OWNER))
          .when(pin(BOB))
          .then(written([pinned(M1, BOB)]));
      });

      it('only a message among the newest, not deleted, is pinned', () => {
        given(...base())
          .when(pin(ADMIN))
          .thenThrows('MESSAGE.NOT_FOUND');
        given(...base(), sent(M1, BOB), {
          type: 'MessageDeleted',
          data: { conversationId: C, messageId: M1, deletedBy: BOB },
        })
          .when(pin(ADMIN))
          .thenThrows('MESSAGE.DELETED');
      });

      it('an admin unpins; unpinning a message not pinned decides nothing', () => {
        given(...base(), sent(M1, BOB), pinned())
          .when({ type: 'UnpinMessage', actorId: OWNER, messageId: M1 })
          .then(written([{ type: 'MessageUnpinned', data: { conversationId: C, messageId: M1, unpinnedBy: OWNER } }]));
        given(...base(), sent(M1, BOB))
          .when({ type: 'UnpinMessage', actorId: OWNER, messageId: M1 })
          .then(written([]));
      });

      it('a deletion ends the pin (no unpin to write)', () => {
        given(...base(), sent(M1, BOB), pinned(), {
          type: 'MessageDeleted',
          data: { conversationId: C, messageId: M1, deletedBy: BOB },
        })
          .when({ type: 'UnpinMessage', actorId: OWNER, messageId: M1 })
          .then(written([]));
      });

      it(`at most ${MAX_PINS} pins at a time`, () => {
        const ids = Array.from(
          { length: MAX_PINS + 1 },
          (_, i) => `dddddddd-0000-4000-8000-${String(i).padStart(12, '0')}`,
        );
        const history = [
          ...base(),
          ...ids.map((id) => sent(id, BOB)),
          ...ids.slice(0, MAX_PINS).map((id) => pinned(id)),
        ];
        given(...history)
          .when(pin(ADMIN, ids[MAX_PINS]))
          .thenThrows('CONVERSATION.INVALID');
        const unpinned: CatalogueEvent = {
          type: 'MessageUnpinned',
          data: { conversationId: C, messageId: ids[0]!, unpinnedBy: ADMIN },
        };
        given(...history, unpinned)
          .when(pin(ADMIN, ids[MAX_PINS]))
          .then(written([pinned(ids[MAX_PINS])]));
      });
    });
  });
});
