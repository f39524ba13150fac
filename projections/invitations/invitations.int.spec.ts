/**
 * invitations.v1, given-when-then against PostgreSQL: given a group's events, when more are
 * applied, then the invited user's pending invitations read so, again after the events are
 * delivered twice.
 */
import { projectionSpec, type InStream } from '@herald/testing';
import { streamIdOf, type EventIn } from '@herald/events';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { membership } from '../membership/index.js';
import { GetInvitations, GetInvitationsHandler } from './invitations.handlers.js';
import { invitations } from './index.js';
import { pendingInvitationsOf } from './invitations.queries.js';

const spec = projectionSpec([membership, invitations]);

function group(name = 'g') {
  const [c, owner, dave] = [randomUUID(), randomUUID(), randomUUID()];
  const inC = (event: EventIn<'conversation'>): InStream => ({ stream: streamIdOf('conversation', c), event });
  const created = inC({ type: 'GroupCreated', data: { conversationId: c, ownerId: owner, name, memberIds: [] } });
  const invited = inC({ type: 'MemberInvited', data: { conversationId: c, userId: dave, invitedBy: owner } });
  return { c, owner, dave, inC, created, invited };
}

const pending = async (db: Parameters<typeof pendingInvitationsOf>[0], userId: string) =>
  (await pendingInvitationsOf(db, userId, { limit: 10 })).invitations.map((i) => i.conversationId);

describe('invitations.v1', () => {
  it("an invitation is pending for the invited user alone, with the group's name and who invited", async () => {
    const g = group('book club');
    await spec
      .given(g.created)
      .when(g.invited)
      .then(async (db) => {
        const page = await new GetInvitationsHandler(db).execute(new GetInvitations(g.dave, { limit: 10 }));
        expect(page.invitations).toEqual([
          { conversationId: g.c, name: 'book club', invitedBy: g.owner, invitedAt: expect.any(String) as string },
        ]);
        expect(await pending(db, g.owner)).toEqual([]);
      });
  });

  it('joining, a withdrawal, a ban or the group dissolved ends it; an invitation again after a withdrawal is pending again', async () => {
    const [joined, withdrawn, banned, dissolved, again] = [group(), group(), group(), group(), group()];
    await spec
      .given(joined.created, withdrawn.created, banned.created, dissolved.created, again.created)
      .when(
        joined.invited,
        joined.inC({
          type: 'MemberJoined',
          data: { conversationId: joined.c, userId: joined.dave, via: 'invitation' },
        }),
        withdrawn.invited,
        withdrawn.inC({
          type: 'InvitationWithdrawn',
          data: { conversationId: withdrawn.c, userId: withdrawn.dave, withdrawnBy: withdrawn.owner },
        }),
        banned.invited,
        banned.inC({
          type: 'MemberBanned',
          data: { conversationId: banned.c, userId: banned.dave, bannedBy: banned.owner },
        }),
        dissolved.invited,
        dissolved.inC({ type: 'GroupDissolved', data: { conversationId: dissolved.c, dissolvedBy: dissolved.owner } }),
        again.invited,
        again.inC({
          type: 'InvitationWithdrawn',
          data: { conversationId: again.c, userId: again.dave, withdrawnBy: again.owner },
        }),
        again.invited,
      )
      .then(async (db) => {
        for (const ended of [joined, withdrawn, banned, dissolved]) expect(await pending(db, ended.dave)).toEqual([]);
        expect(await pending(db, again.dave)).toEqual([again.c]);
      });
  });
});
