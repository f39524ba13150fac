import { encodeCheckpoint, StreamNotFound, type RecordedEvent } from '@herald/event-store';
import { streamIdOf, type CatalogueEvent } from '@herald/events';
import { describe, expect, it } from 'vitest';
import { FairGate } from './budgets.js';
import { PushClients } from './push-client.js';
import { fakeClient, idleFeed } from './push.testing.js';
import { UserChannel } from './user-channel.js';

const ann = '5f0c7a52-8a3b-4d1e-9c6f-3e2d1b0a9f87';
const bob = '7d3f1c2e-9a4b-4c5d-8e6f-1a2b3c4d5e6f';
const group = '0b9d8f86-4f4e-4b7a-8d3e-2b1c5a6f7e81';
const message = '2c4e6a8b-1d3f-4a5c-9e7b-0f1e2d3c4b5a';

let position = 0n;
function recorded(streamId: string, seq: number, event: CatalogueEvent, actorId: string): RecordedEvent {
  position++;
  return {
    eventId: `00000000-0000-4000-8000-${String(position).padStart(12, '0')}`,
    type: event.type,
    schemaVersion: 1,
    data: event.data,
    metadata: { actorId, correlationId: 'c', causationId: 'c', occurredAt: '2026-01-01T00:00:00.000Z' },
    streamId,
    streamRevision: seq,
    globalPosition: encodeCheckpoint(position, 0n),
    recordedAt: new Date(0),
  };
}

const read = (userId: string, seq: number, upToSeq: number): RecordedEvent =>
  recorded(
    streamIdOf('receipts', userId),
    seq,
    { type: 'ConversationRead', data: { userId, conversationId: group, upToSeq } },
    userId,
  );

/** A node whose store holds these receipts streams; sockets record what they receive. */
function node(streams: Record<string, RecordedEvent[]>) {
  const clients = new PushClients();
  const channel = new UserChannel({
    store: {
      readStream: (streamId, options) => {
        const stream = streams[streamId];
        if (!stream) return Promise.reject(new StreamNotFound(streamId));
        if (options?.direction === 'backwards') return Promise.resolve(stream.slice(-1));
        return Promise.resolve(
          stream.filter((e) => e.streamRevision >= Number(options?.from)).slice(0, options?.limit),
        );
      },
    },
    clients,
    gate: new FairGate(4),
  });
  const socket = (userId: string) => {
    const { client, received } = fakeClient(userId);
    clients.opened(client);
    return { client, received };
  };
  return { channel, clients, socket };
}

/** Each frame as `type [seq] [event type]`. */
const summary = (frames: readonly Record<string, unknown>[]) =>
  frames.map((f) => {
    const parts = [String(f.type)];
    if (typeof f.seq === 'number') parts.push(String(f.seq));
    const inner = f.event as { type?: string } | undefined;
    if (inner?.type !== undefined) parts.push(inner.type);
    return parts.join(' ');
  });

describe("a user's own channel", () => {
  it('catches up the receipts after the seq the socket has, says userSynced, then goes live with no duplicate', async () => {
    const stream = [read(ann, 0, 1), read(ann, 1, 2), read(ann, 2, 3)];
    const { channel, socket } = node({ [streamIdOf('receipts', ann)]: stream });
    const a = socket(ann);
    await channel.follow(a.client, 0);
    // The last one again (the live path of what the catch-up read), then a new one.
    channel.live(stream[2]!);
    const next = read(ann, 3, 4);
    channel.live(next);
    expect(summary(a.received)).toEqual([
      'userEvent 1 ConversationRead',
      'userEvent 2 ConversationRead',
      'userSynced 2',
      'userEvent 3 ConversationRead',
    ]);
  });

  it('a user with no receipts yet is synced at -1; nobody else’s receipts reach them', async () => {
    const { channel, socket } = node({});
    const a = socket(ann);
    const b = socket(bob);
    await channel.follow(a.client, -1);
    await channel.follow(b.client, -1);
    channel.live(read(bob, 0, 5));
    expect(a.received).toEqual([{ type: 'userSynced', seq: -1 }]);
    expect(summary(b.received)).toEqual(['userSynced -1', 'userEvent 0 ConversationRead']);
  });

  it('notices go to the users an event names, on sockets that follow their channel and have not synced the conversation', async () => {
    const { channel, clients, socket } = node({});
    const a = socket(ann);
    const synced = socket(ann);
    const quiet = socket(ann); // never sent syncUser
    const b = socket(bob);
    for (const s of [a, synced, b]) await channel.follow(s.client, -1);
    clients.subscribed(synced.client, group, {
      feed: idleFeed({ conversationId: group, userId: ann }),
      typingAt: 0,
      peer: undefined,
    });
    const inGroup = streamIdOf('conversation', group);
    channel.live(
      recorded(
        inGroup,
        3,
        { type: 'MemberInvited', data: { conversationId: group, userId: ann, invitedBy: bob } },
        bob,
      ),
    );
    channel.live(
      recorded(
        inGroup,
        4,
        {
          type: 'MessageSent',
          data: {
            conversationId: group,
            messageId: message,
            senderId: bob,
            text: 'hi',
            mentions: { userIds: [ann], all: false },
            attachments: [],
          },
        },
        bob,
      ),
    );
    channel.live(
      recorded(
        streamIdOf('contact', 'pair'),
        0,
        { type: 'ContactRequested', data: { requesterId: bob, recipientId: ann } },
        bob,
      ),
    );
    // An event about others, and one the channel does not notice (a reaction).
    channel.live(
      recorded(
        inGroup,
        5,
        { type: 'ReactionAdded', data: { conversationId: group, messageId: message, userId: bob, emoji: 'x' } },
        bob,
      ),
    );
    expect(summary(a.received)).toEqual(['userSynced -1', 'notice 3 MemberInvited', 'notice ContactRequested']);
    expect(a.received[1]).toMatchObject({ conversationId: group, event: { actorId: bob, data: { invitedBy: bob } } });
    // The synced socket has the conversation's events itself; a socket that never asked gets nothing.
    expect(summary(synced.received)).toEqual(['userSynced -1', 'notice ContactRequested']);
    expect(quiet.received).toEqual([]);
    // The sender's own send, on their other socket; a mention is not a notice.
    expect(summary(b.received)).toEqual(['userSynced -1', 'notice 4 MessageSent', 'notice ContactRequested']);
  });

  it('a closed socket stops following; a second syncUser replaces the first', async () => {
    const stream = [read(ann, 0, 1)];
    const { channel, clients, socket } = node({ [streamIdOf('receipts', ann)]: stream });
    const a = socket(ann);
    await channel.follow(a.client, -1);
    await channel.follow(a.client, 0);
    expect(clients.followingUser(ann)).toEqual([a.client]);
    channel.live(read(ann, 1, 2));
    expect(summary(a.received)).toEqual([
      'userEvent 0 ConversationRead',
      'userSynced 0',
      'userSynced 0',
      'userEvent 1 ConversationRead',
    ]);
    clients.closed(a.client);
    expect(clients.followingUser(ann)).toEqual([]);
  });
});
