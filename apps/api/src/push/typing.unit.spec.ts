import { describe, expect, it } from 'vitest';
import { PushClients } from './push-client.js';
import { fakeClient, idleFeed } from './push.testing.js';
import type { Signal } from './signals.js';
import { Typing } from './typing.js';

const conversationId = 'c';

/** A node's sockets, its typing relay over scripted membership (members who may send) and blocks, and what it did. */
function node(options: { members?: string[]; blocks?: [blocker: string, blocked: string][] } = {}) {
  const clients = new PushClients();
  const published: Signal[] = [];
  const refused: string[] = [];
  let clock = 10_000;
  const members = new Set(options.members ?? ['ann', 'bob', 'cat']);
  const typing = new Typing({
    clients,
    maySend: (_, userId) => Promise.resolve(members.has(userId)),
    hasBlocked: (blocker, blocked) =>
      Promise.resolve((options.blocks ?? []).some(([a, b]) => a === blocker && b === blocked)),
    notFound: (client, id) => refused.push(`${client.caller.userId} ${id}`),
    publish: (signal) => published.push(signal),
    now: () => clock,
  });

  /** A socket of `userId` here, subscribed to the conversation unless told (`peer`: the other member of a direct one). */
  const socket = (userId: string, subscribed = true, peer?: string) => {
    const { client, received } = fakeClient(userId);
    clients.opened(client);
    if (subscribed)
      clients.subscribed(client, conversationId, { feed: idleFeed({ conversationId, userId }), typingAt: 0, peer });
    return { client, received };
  };
  return { typing, socket, published, refused, tick: (ms: number) => (clock += ms), members };
}

const typingOf = (userId: string) => ({ type: 'typing', conversationId, userId });

describe('typing', () => {
  it("a member's typing reaches the conversation's other subscribers here and the other nodes, not the typist's own sockets", async () => {
    const { typing, socket, published } = node();
    const ann = socket('ann');
    const annOtherDevice = socket('ann');
    const bob = socket('bob');
    await typing.typed(ann.client, conversationId);
    expect(bob.received).toEqual([typingOf('ann')]);
    expect(ann.received).toEqual([]);
    expect(annOtherDevice.received).toEqual([]);
    expect(published).toEqual([{ kind: 'typing', conversationId, userId: 'ann' }]);
  });

  it('at most one typing signal a second per socket and conversation is relayed; the rest are dropped', async () => {
    const { typing, socket, published, tick } = node();
    const ann = socket('ann');
    const bob = socket('bob');
    await typing.typed(ann.client, conversationId);
    tick(999);
    await typing.typed(ann.client, conversationId);
    tick(1);
    await typing.typed(ann.client, conversationId);
    expect(bob.received).toEqual([typingOf('ann'), typingOf('ann')]);
    expect(published).toHaveLength(2);
  });

  it('a typist the stream no longer has as a member (a kick not delivered here yet) is silenced', async () => {
    const { typing, socket, published, members } = node();
    const ann = socket('ann');
    const bob = socket('bob');
    members.delete('ann');
    await typing.typed(ann.client, conversationId);
    expect(bob.received).toEqual([]);
    expect(published).toEqual([]);
  });

  it('in a direct conversation, a peer who blocked the typist is told nothing, here or elsewhere', async () => {
    const { typing, socket, published } = node({ members: ['ann', 'bob'], blocks: [['bob', 'ann']] });
    const ann = socket('ann', true, 'bob');
    const bob = socket('bob', true, 'ann');
    await typing.typed(ann.client, conversationId);
    expect(bob.received).toEqual([]);
    expect(published).toEqual([]);
  });

  it('a typing frame for a conversation not synced on the socket is answered as not found, and relayed nowhere', async () => {
    const { typing, socket, published, refused } = node();
    const ann = socket('ann', false);
    const bob = socket('bob');
    await typing.typed(ann.client, conversationId);
    expect(refused).toEqual([`ann ${conversationId}`]);
    expect(bob.received).toEqual([]);
    expect(published).toEqual([]);
  });

  it("a typing signal from another node reaches this node's subscribers, not the typist's sockets or outsiders", () => {
    const { typing, socket } = node();
    const ann = socket('ann');
    const bob = socket('bob');
    const outsider = socket('dan', false);
    typing.relay(conversationId, 'ann');
    expect(bob.received).toEqual([typingOf('ann')]);
    expect(ann.received).toEqual([]);
    expect(outsider.received).toEqual([]);
  });
});
