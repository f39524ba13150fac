/**
 * Invitations and contact requests a user can see (issue 18, item 2): listed for the
 * caller alone, pushed live on their own channel (`syncUser`), accepted without a reload,
 * withdrawn by an admin.
 */
import { eventually } from '@herald/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, testApp, type TestUser } from '../test-app.js';
import { apiOf, checkpointOf, dataOf } from '../test-client.js';
import { hangUp, listen, openSocket, type Frame, type TestSocket } from '../test-socket.js';

let app: NestFastifyApplication;
let base: string;
beforeAll(async () => {
  app = await testApp();
  base = await listen(app);
});
afterAll(async () => {
  await app.close();
});

const user = (name: string): Promise<TestUser> => signUp(app, name);

/** A socket of `who` that follows their own channel. */
async function channelOf(who: TestUser): Promise<TestSocket> {
  const socket = await openSocket(base, who.token);
  socket.send({ type: 'syncUser', seq: -1 });
  await eventually(() => socket.frames.some((f) => f.type === 'userSynced'));
  return socket;
}

const notices = (socket: TestSocket): Frame[] => socket.frames.filter((f) => f.type === 'notice');

describe('group invitations', () => {
  it('the invitee is told live, sees the group and who invited in their list, and accepts without reloading', async () => {
    const [ada, bob, carol] = await Promise.all([user('ada'), user('bob'), user('carol')]);
    const group = dataOf(
      await apiOf(app, ada).POST('/conversations/groups', { body: { name: 'book club', memberIds: [bob.userId] } }),
    ).conversationId;
    const carolSocket = await channelOf(carol);
    const bobSocket = await channelOf(bob);
    const invited = checkpointOf(
      await apiOf(app, ada).POST('/conversations/{id}/invitations', {
        params: { path: { id: group } },
        body: { userId: carol.userId },
      }),
    );
    await eventually(() => notices(carolSocket).length === 1);
    expect(notices(carolSocket)[0]).toMatchObject({
      conversationId: group,
      seq: 1,
      event: { type: 'MemberInvited', actorId: ada.userId, data: { userId: carol.userId, invitedBy: ada.userId } },
    });
    const list = dataOf(await apiOf(app, carol).GET('/me/invitations', { params: { query: { after: invited } } }));
    expect(list.invitations).toEqual([
      { conversationId: group, name: 'book club', invitedBy: ada.userId, invitedAt: expect.any(String) as string },
    ]);
    expect(list.nextCursor).toBeNull();
    // Only the invitee's: the members and the inviter have none.
    for (const who of [ada, bob])
      expect(dataOf(await apiOf(app, who).GET('/me/invitations', { params: { query: { after: invited } } }))).toEqual({
        invitations: [],
        nextCursor: null,
      });
    expect(notices(bobSocket)).toEqual([]);

    // Straight from the notice: accept, and the list is empty.
    const joined = checkpointOf(
      await apiOf(app, carol).POST('/conversations/{id}/invitations/accept', {
        params: { path: { id: notices(carolSocket)[0]!.conversationId! } },
      }),
    );
    expect(
      dataOf(await apiOf(app, carol).GET('/me/invitations', { params: { query: { after: joined } } })).invitations,
    ).toEqual([]);
    await eventually(() => notices(carolSocket).some((f) => f.event?.type === 'MemberJoined'));
    await Promise.all([carolSocket, bobSocket].map(hangUp));
  });

  it('an admin withdraws an invitation: the invitee is told, it leaves their list, and it can no longer be accepted', async () => {
    const [ada, bob, dave, outsider] = await Promise.all([user('ada'), user('bob'), user('dave'), user('outsider')]);
    const group = dataOf(
      await apiOf(app, ada).POST('/conversations/groups', { body: { name: 'g', memberIds: [bob.userId] } }),
    ).conversationId;
    await apiOf(app, ada).POST('/conversations/{id}/invitations', {
      params: { path: { id: group } },
      body: { userId: dave.userId },
    });
    const daveSocket = await channelOf(dave);
    const path = { id: group, userId: dave.userId };
    // A member who is no admin may not; an outsider is told there is no such conversation.
    const byMember = await apiOf(app, bob).DELETE('/conversations/{id}/invitations/{userId}', { params: { path } });
    expect(byMember.error).toMatchObject({ error: { code: 'CONVERSATION.FORBIDDEN' } });
    const byOutsider = await apiOf(app, outsider).DELETE('/conversations/{id}/invitations/{userId}', {
      params: { path },
    });
    expect(byOutsider.error).toMatchObject({ error: { code: 'CONVERSATION.NOT_FOUND' } });

    const withdrawn = await apiOf(app, ada).DELETE('/conversations/{id}/invitations/{userId}', { params: { path } });
    const after = checkpointOf(withdrawn);
    await eventually(() => notices(daveSocket).some((f) => f.event?.type === 'InvitationWithdrawn'));
    expect(notices(daveSocket).at(-1)).toMatchObject({
      conversationId: group,
      event: { data: { userId: dave.userId, withdrawnBy: ada.userId } },
    });
    expect(dataOf(await apiOf(app, dave).GET('/me/invitations', { params: { query: { after } } })).invitations).toEqual(
      [],
    );
    const accept = await apiOf(app, dave).POST('/conversations/{id}/invitations/accept', {
      params: { path: { id: group } },
    });
    expect(accept.error).toMatchObject({ error: { code: 'CONVERSATION.NOT_FOUND' } });
    // Withdrawing again writes nothing.
    expect(
      dataOf(await apiOf(app, ada).DELETE('/conversations/{id}/invitations/{userId}', { params: { path } })),
    ).toMatchObject({ checkpoint: null });
    await hangUp(daveSocket);
  });
});

describe('contact requests', () => {
  it('are listed both ways and pushed live to both; an accepted one leaves the lists', async () => {
    const [ada, bob] = await Promise.all([user('ada'), user('bob')]);
    const [adaSocket, bobSocket] = await Promise.all([channelOf(ada), channelOf(bob)]);
    const requested = checkpointOf(
      await apiOf(app, ada).POST('/contacts/{userId}', { params: { path: { userId: bob.userId } } }),
    );
    for (const socket of [adaSocket, bobSocket])
      await eventually(() => notices(socket).some((f) => f.event?.type === 'ContactRequested'));
    expect(notices(bobSocket)[0]).toMatchObject({
      event: { type: 'ContactRequested', data: { requesterId: ada.userId, recipientId: bob.userId } },
    });
    expect(notices(bobSocket)[0]!.conversationId).toBeUndefined();
    const query = { params: { query: { after: requested } } };
    expect(dataOf(await apiOf(app, bob).GET('/me/contact-requests', query))).toEqual({
      requests: [{ userId: ada.userId, direction: 'received' }],
      nextCursor: null,
    });
    expect(dataOf(await apiOf(app, ada).GET('/me/contact-requests', query)).requests).toEqual([
      { userId: bob.userId, direction: 'sent' },
    ]);
    const accepted = checkpointOf(
      await apiOf(app, bob).POST('/contacts/{userId}/accept', { params: { path: { userId: ada.userId } } }),
    );
    await eventually(() => notices(adaSocket).some((f) => f.event?.type === 'ContactRequestAccepted'));
    for (const who of [ada, bob])
      expect(
        dataOf(await apiOf(app, who).GET('/me/contact-requests', { params: { query: { after: accepted } } })).requests,
      ).toEqual([]);
    await Promise.all([adaSocket, bobSocket].map(hangUp));
  });

  it('a request from a blocked user reaches the one who blocked nothing: no notice, nothing in their list', async () => {
    const [erin, frank] = await Promise.all([user('erin'), user('frank')]);
    await apiOf(app, erin).PUT('/blocks/{userId}', { params: { path: { userId: frank.userId } } });
    const erinSocket = await channelOf(erin);
    const asked = await apiOf(app, frank).POST('/contacts/{userId}', { params: { path: { userId: erin.userId } } });
    // Withheld, not refused (ADR 007): answered as a write.
    expect(dataOf(asked)).toMatchObject({ status: 'requested' });
    // A marker after it: a request erin makes herself is noticed to her; frank's never was.
    const other = await user('other');
    const marker = checkpointOf(
      await apiOf(app, erin).POST('/contacts/{userId}', { params: { path: { userId: other.userId } } }),
    );
    await eventually(() => notices(erinSocket).length > 0);
    expect(notices(erinSocket).map((f) => f.event!.data)).toEqual([
      { requesterId: erin.userId, recipientId: other.userId },
    ]);
    const list = dataOf(await apiOf(app, erin).GET('/me/contact-requests', { params: { query: { after: marker } } }));
    expect(list.requests).toEqual([{ userId: other.userId, direction: 'sent' }]);
    await hangUp(erinSocket);
  });
});
