/**
 * One user, several devices (issue 18, item 1): the user's own channel on the socket
 * (`syncUser`: receipts from every device, caught up and live; notices), their sessions
 * listed and signed out one by one; and a retried send's checkpoint (item 6).
 */
import { eventually } from '@herald/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, testApp } from '../test-app.js';
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

/** A user signed up on one device and signed in on another, each with its own session. */
async function twoDevices(name: string) {
  const username = `${name}-${randomUUID().slice(0, 8)}`;
  const laptop = dataOf(
    await apiOf(app).POST('/auth/register', {
      body: { username, password: 'password-1', displayName: name, deviceName: 'laptop' },
      // eslint-disable-next-line no-restricted-syntax -- a header's name, not a stream's
      headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' },
    }),
  );
  const phone = dataOf(
    await apiOf(app).POST('/auth/sign-in', {
      body: { username, password: 'password-1', deviceName: "Ada's phone", client: 'Herald iOS 2.1' },
    }),
  );
  return {
    userId: laptop.userId,
    laptop: { token: laptop.accessToken, ...laptop },
    phone: { token: phone.accessToken, ...phone },
  };
}

const userFrames = (socket: TestSocket): Frame[] => socket.frames.filter((f) => f.type === 'userEvent');

/** Sends a frame and waits for the frame it ends with. */
async function until(socket: TestSocket, frame: object, done: (f: Frame) => boolean): Promise<void> {
  const from = socket.frames.length;
  socket.send(frame);
  await eventually(() => socket.frames.slice(from).some(done));
}

describe('one user on two devices', () => {
  it('a read on the phone clears the laptop live (counts too), a mute reaches it, and a socket opened later catches up with no gap and no duplicate', async () => {
    const ada = await twoDevices('ada');
    const bob = await signUp(app, 'bob');
    const dm = dataOf(await apiOf(app, bob).POST('/conversations/direct', { body: { userId: ada.userId } }));
    const id = dm.conversationId;
    for (const text of ['one', 'two', 'three'])
      await apiOf(app, bob).POST('/conversations/{id}/messages', {
        params: { path: { id } },
        body: { clientMessageId: randomUUID(), text },
      });
    const [laptop, phone] = await Promise.all([openSocket(base, ada.laptop.token), openSocket(base, ada.phone.token)]);
    for (const socket of [laptop, phone]) {
      await until(socket, { type: 'syncUser', seq: -1 }, (f) => f.type === 'userSynced');
      await until(socket, { type: 'sync', conversations: { [id]: 3 } }, (f) => f.type === 'synced');
    }
    expect(laptop.frames.find((f) => f.type === 'userSynced')).toEqual({ type: 'userSynced', seq: -1 });

    // The phone reads up to 2: the laptop is told, live, and its counts say so.
    const read = checkpointOf(
      await apiOf(app, ada.phone).POST('/conversations/{id}/read', { params: { path: { id } }, body: { upToSeq: 2 } }),
    );
    await eventually(() => userFrames(laptop).length === 1);
    expect(userFrames(laptop)[0]).toMatchObject({
      seq: 0,
      event: { type: 'ConversationRead', data: { conversationId: id, userId: ada.userId, upToSeq: 2 } },
    });
    const inbox = dataOf(await apiOf(app, ada.laptop).GET('/conversations', { params: { query: { after: read } } }));
    expect(inbox.conversations.find((c) => c.conversationId === id)).toMatchObject({ unreadCount: 1, readSeq: 2 });

    // Then up to 3, a delivery receipt and a mute: each reaches both of ada's sockets, in order.
    await apiOf(app, ada.phone).POST('/conversations/{id}/read', { params: { path: { id } }, body: { upToSeq: 3 } });
    await apiOf(app, ada.phone).POST('/conversations/{id}/delivered', {
      params: { path: { id } },
      body: { upToSeq: 3 },
    });
    const muted = dataOf(
      await apiOf(app, ada.laptop).PUT('/conversations/{id}/mute', { params: { path: { id } }, body: { muted: true } }),
    );
    for (const socket of [laptop, phone]) await eventually(() => userFrames(socket).length === 4);
    for (const socket of [laptop, phone]) {
      expect(userFrames(socket).map((f) => [f.seq, f.event!.type])).toEqual([
        [0, 'ConversationRead'],
        [1, 'ConversationRead'],
        [2, 'MessagesDelivered'],
        [3, 'ConversationMuteChanged'],
      ]);
    }
    // The socket follows the log, the inbox is a read model: read it at the mute's checkpoint.
    const cleared = dataOf(
      await apiOf(app, ada.laptop).GET('/conversations', {
        params: { query: { after: muted.checkpoint ?? undefined } },
      }),
    );
    expect(cleared.conversations.find((c) => c.conversationId === id)).toMatchObject({ unreadCount: 0, muted: true });

    // A third socket that had seq 1: the rest of the stream, then live, no gap and no duplicate.
    const later = await openSocket(base, ada.laptop.token);
    const catchingUp = until(later, { type: 'syncUser', seq: 1 }, (f) => f.type === 'userSynced');
    await apiOf(app, ada.phone).PUT('/conversations/{id}/mute', { params: { path: { id } }, body: { muted: false } });
    await catchingUp;
    await eventually(() => userFrames(later).length === 3);
    expect(userFrames(later).map((f) => f.seq)).toEqual([2, 3, 4]);
    // Bob's socket follows his own channel: none of ada's receipts reach it.
    const bobSocket = await openSocket(base, bob.token);
    await until(bobSocket, { type: 'syncUser', seq: -1 }, (f) => f.type === 'userSynced');
    expect(bobSocket.frames).toEqual([{ type: 'userSynced', seq: -1 }]);
    await Promise.all([laptop, phone, later, bobSocket].map(hangUp));
  });

  it("the user's own send from the phone reaches the laptop: as the conversation's event where it synced it, as a notice where it did not", async () => {
    const ada = await twoDevices('ada');
    const bob = await signUp(app, 'bob');
    const synced = dataOf(await apiOf(app, ada.phone).POST('/conversations/direct', { body: { userId: bob.userId } }));
    const [laptop, elsewhere] = await Promise.all([
      openSocket(base, ada.laptop.token),
      openSocket(base, ada.laptop.token),
    ]);
    for (const socket of [laptop, elsewhere])
      await until(socket, { type: 'syncUser', seq: -1 }, (f) => f.type === 'userSynced');
    await until(laptop, { type: 'sync', conversations: { [synced.conversationId]: 0 } }, (f) => f.type === 'synced');
    // A group the phone makes now: the laptop had no way to sync it.
    const group = dataOf(
      await apiOf(app, ada.phone).POST('/conversations/groups', { body: { name: 'new', memberIds: [bob.userId] } }),
    );
    for (const id of [synced.conversationId, group.conversationId])
      await apiOf(app, ada.phone).POST('/conversations/{id}/messages', {
        params: { path: { id } },
        body: { clientMessageId: randomUUID(), text: `from the phone to ${id}` },
      });
    await eventually(() =>
      laptop.frames.some((f) => f.type === 'notice' && f.event?.type === 'MessageSent' && f.seq === 1),
    );
    // The synced one came as its event (seq 1), not twice; the other as notices: the group made, the send.
    expect(laptop.frames.filter((f) => f.conversationId === synced.conversationId).map((f) => [f.type, f.seq])).toEqual(
      [
        ['synced', 0],
        ['event', 1],
      ],
    );
    const notices = laptop.frames.filter((f) => f.type === 'notice');
    expect(notices.map((f) => [f.conversationId, f.seq, f.event!.type])).toEqual([
      [group.conversationId, 0, 'GroupCreated'],
      [group.conversationId, 1, 'MessageSent'],
    ]);
    // The other socket synced neither: it is noticed of both sends.
    await eventually(() => elsewhere.frames.filter((f) => f.event?.type === 'MessageSent').length === 2);
    await Promise.all([laptop, elsewhere].map(hangUp));
  });

  it('lists its sessions with device, client, IP and times; signing one out from the other closes its sockets at once, and its tokens stop working', async () => {
    const ada = await twoDevices('ada');
    const mallory = await signUp(app, 'mallory');
    // sessions.v1 is a read model: the second sign-in shows once it has applied it.
    let sessions = dataOf(await apiOf(app, ada.laptop).GET('/me/sessions')).sessions;
    await eventually(async () => {
      sessions = dataOf(await apiOf(app, ada.laptop).GET('/me/sessions')).sessions;
      return sessions.length === 2;
    });
    const byId = new Map(sessions.map((s) => [s.sessionId, s]));
    expect(byId.size).toBe(2);
    expect(byId.get(ada.laptop.sessionId)).toMatchObject({
      deviceName: 'laptop',
      client: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0',
      ip: '127.0.0.1',
      current: true,
    });
    expect(byId.get(ada.phone.sessionId)).toMatchObject({
      deviceName: "Ada's phone",
      client: 'Herald iOS 2.1',
      current: false,
    });
    const phoneSession = byId.get(ada.phone.sessionId)!;
    expect(Date.parse(phoneSession.lastSeenAt)).toBeGreaterThanOrEqual(Date.parse(phoneSession.createdAt));

    // Nobody else's sessions can be named: the same 404 as one that does not exist.
    const theirs = await apiOf(app, mallory).DELETE('/me/sessions/{sessionId}', {
      params: { path: { sessionId: ada.phone.sessionId } },
    });
    const none = await apiOf(app, mallory).DELETE('/me/sessions/{sessionId}', {
      params: { path: { sessionId: randomUUID() } },
    });
    expect([theirs.response.status, none.response.status]).toEqual([404, 404]);
    expect(theirs.error).toEqual(none.error);
    expect(theirs.error).toMatchObject({ error: { code: 'SESSION.NOT_FOUND' } });
    expect(dataOf(await apiOf(app, ada.phone).GET('/me'))).toMatchObject({ userId: ada.userId });

    const phoneSocket = await openSocket(base, ada.phone.token);
    const laptopSocket = await openSocket(base, ada.laptop.token);
    const signedOut = await apiOf(app, ada.laptop).DELETE('/me/sessions/{sessionId}', {
      params: { path: { sessionId: ada.phone.sessionId } },
    });
    expect(dataOf(signedOut)).toMatchObject({ sessionId: ada.phone.sessionId });
    expect(await phoneSocket.closed).toBe(4001);
    expect((await apiOf(app, ada.phone).GET('/me')).response.status).toBe(401);
    const refreshed = await apiOf(app).POST('/auth/refresh', { body: { refreshToken: ada.phone.refreshToken } });
    expect(refreshed.response.status).toBe(401);
    expect(refreshed.error).toMatchObject({ error: { code: 'AUTH.SESSION_REVOKED' } });
    // The laptop is untouched; its list has one session left; doing it again changes nothing.
    expect(laptopSocket.ws.readyState).toBe(laptopSocket.ws.OPEN);
    const after = checkpointOf(signedOut);
    const left = dataOf(await apiOf(app, ada.laptop).GET('/me/sessions', { params: { query: { after } } }));
    expect(left.sessions.map((s) => s.sessionId)).toEqual([ada.laptop.sessionId]);
    const again = await apiOf(app, ada.laptop).DELETE('/me/sessions/{sessionId}', {
      params: { path: { sessionId: ada.phone.sessionId } },
    });
    expect(dataOf(again)).toEqual({ sessionId: ada.phone.sessionId, checkpoint: null });
    await hangUp(laptopSocket);
  });
});

describe('a retried send', () => {
  it("answers the original's seq and message id, and a checkpoint a query with ?after= reads it at", async () => {
    const [ada, bob] = await Promise.all([signUp(app, 'ada'), signUp(app, 'bob')]);
    const id = dataOf(
      await apiOf(app, ada).POST('/conversations/direct', { body: { userId: bob.userId } }),
    ).conversationId;
    const body = { clientMessageId: 'retry-me', text: 'once' };
    const first = dataOf(
      await apiOf(app, ada).POST('/conversations/{id}/messages', { params: { path: { id } }, body }),
    );
    const retried = dataOf(
      await apiOf(app, ada).POST('/conversations/{id}/messages', { params: { path: { id } }, body }),
    );
    expect(retried).toMatchObject({ seq: first.seq, messageId: first.messageId });
    expect(retried.checkpoint).not.toBeNull();
    expect(retried.checkpoint! >= first.checkpoint!).toBe(true);
    const page = dataOf(
      await apiOf(app, bob).GET('/conversations/{id}/messages', {
        params: { path: { id }, query: { after: retried.checkpoint! } },
      }),
    );
    expect(page.messages.map((m) => [m.seq, m.messageId, m.text])).toEqual([[first.seq, first.messageId, 'once']]);
  });
});
