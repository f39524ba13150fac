/**
 * A user's own channel on their sockets (`syncUser`), so that all their devices show one
 * state:
 *
 * - **Their receipts stream** (`receipts-<userId>`: read markers, delivery receipts, mutes,
 *   whichever device wrote them), caught up from the seq the client has and then live, by
 *   the same seam as a conversation (conversation-feed.ts): in seq order, no gap, no
 *   duplicate, `userResync` past 500 missed.
 * - **Notices**, live only: events of other streams that name the user (an invitation to
 *   them or its withdrawal, a conversation they were added to or joined, a contact request
 *   either way and what became of it, a message they sent), to those of their sockets that
 *   follow the channel and have not synced that conversation (a synced one has the event
 *   already). They are not caught up: a client that reconnects reads the lists
 *   (`GET /me/invitations`, `/me/contact-requests`, `/conversations`) after `syncUser`.
 *
 * Who gets what is read from the event alone: the users it names, never anyone else. A
 * blocked user's withheld writes are written nowhere, so nothing of them is noticed.
 */
import { StreamNotFound, type EventStore, type RecordedEvent } from '@herald/event-store';
import { idOfStream, readEvent, streamIdOf } from '@herald/events';
import type { FairGate } from './budgets.js';
import { ConversationFeed, type FeedEvent, type FeedFrames, type FeedPorts } from './conversation-feed.js';
import type { ServerFrame } from './frames.js';
import type { PushClient, PushClients } from './push-client.js';
import { SocketPorts } from './subscriptions.js';

export interface UserChannelOptions {
  readonly store: Pick<EventStore, 'readStream'>;
  readonly clients: PushClients;
  readonly gate: FairGate;
}

const USER_FRAMES: FeedFrames = {
  synced: (_, seq) => ({ type: 'userSynced', seq }),
  resync: (_, seq, reason) => ({ type: 'userResync', seq, reason }),
};

/** Conversation events noticed to the users they name (a send: to its sender's other devices). */
const CONVERSATION_NOTICES: ReadonlySet<string> = new Set([
  'MemberInvited',
  'InvitationWithdrawn',
  'MemberJoined',
  'GroupCreated',
  'DirectConversationStarted',
  'MessageSent',
]);

export class UserChannel {
  constructor(private readonly options: UserChannelOptions) {}

  /** The socket follows its user's channel from `claimed` (the last receipts seq it has). */
  async follow(client: PushClient, claimed: number): Promise<void> {
    const { store, clients, gate } = this.options;
    const userId = client.caller.userId;
    // A read like a catch-up page's: in its user's turn at the process's gate.
    const release = await gate.acquire(userId);
    let head: number;
    try {
      head = await headOf(store, userId);
    } finally {
      release();
    }
    if (!client.open) return;
    const feed = new ConversationFeed({
      conversationId: userId,
      userId,
      claimed,
      head,
      frames: USER_FRAMES,
      ports: (client.userPorts ??= new SocketPorts(client, clients, gate, this.read, (ended) =>
        clients.unfollowed(client, ended),
      )),
    });
    clients.followed(client, feed);
    await feed.start();
  }

  /** One reader for every socket: a page of a user's receipts stream (none yet: empty). */
  private readonly read: FeedPorts['read'] = async (owner, from, limit) => {
    try {
      return (await this.options.store.readStream(streamIdOf('receipts', owner), { from, limit })).map(userFeedEvent);
    } catch (error) {
      if (error instanceof StreamNotFound) return [];
      throw error;
    }
  };

  /** An event of the log, live: to the channels of the users it concerns on this node. */
  live(event: RecordedEvent): void {
    const owner = idOfStream('receipts', event.streamId);
    if (owner !== undefined) {
      const sockets = this.options.clients.followingUser(owner);
      if (sockets.length === 0) return;
      const ready = userFeedEvent(event);
      for (const client of sockets) client.userFeed?.live(ready);
      return;
    }
    const conversationId = idOfStream('conversation', event.streamId);
    if (conversationId !== undefined) {
      if (!CONVERSATION_NOTICES.has(event.type)) return;
      // A send is noticed to its sender (its actor), the busiest case: looked at before the event is read.
      if (event.type === 'MessageSent' && this.options.clients.followingUser(event.metadata.actorId).length === 0)
        return;
      this.notice(event, conversationId);
      return;
    }
    if (idOfStream('contact', event.streamId) !== undefined) this.notice(event, undefined);
  }

  private notice(event: RecordedEvent, conversationId: string | undefined): void {
    const { data } = readEvent(event);
    const targets = concerned(event.type, data).flatMap((userId) =>
      this.options.clients
        .followingUser(userId)
        .filter((client) => conversationId === undefined || !client.subscriptions.has(conversationId)),
    );
    if (targets.length === 0) return;
    const frame: ServerFrame = {
      type: 'notice',
      ...(conversationId !== undefined ? { conversationId, seq: event.streamRevision } : {}),
      event: {
        eventId: event.eventId,
        type: event.type,
        data,
        actorId: event.metadata.actorId,
        occurredAt: event.metadata.occurredAt,
      },
    };
    const bytes = Buffer.from(JSON.stringify(frame));
    for (const client of targets) client.write(bytes);
  }
}

/** The users an event names that it is noticed to. */
function concerned(type: string, data: Record<string, unknown>): string[] {
  const id = (key: string): string[] => (typeof data[key] === 'string' ? [data[key]] : []);
  const ids = (key: string): string[] => (Array.isArray(data[key]) ? (data[key] as string[]) : []);
  switch (type) {
    case 'MemberInvited':
    case 'InvitationWithdrawn':
    case 'MemberJoined':
      return id('userId');
    case 'GroupCreated':
      return [...id('ownerId'), ...ids('memberIds')];
    case 'DirectConversationStarted':
      return ids('memberIds');
    case 'MessageSent':
      return id('senderId');
    case 'ContactRequested':
    case 'ContactRequestAccepted':
    case 'ContactRequestDeclined':
      return [...id('requesterId'), ...id('recipientId')];
    case 'ContactRemoved':
      return [...id('userId'), ...id('contactId')];
    default:
      return [];
  }
}

/** The last seq of the user's receipts stream; -1 when it has none. */
async function headOf(store: Pick<EventStore, 'readStream'>, userId: string): Promise<number> {
  try {
    const [last] = await store.readStream(streamIdOf('receipts', userId), {
      from: 'end',
      direction: 'backwards',
      limit: 1,
    });
    return last?.streamRevision ?? -1;
  } catch (error) {
    if (error instanceof StreamNotFound) return -1;
    throw error;
  }
}

/** An event of a user's receipts stream as their channel pushes it, serialized once. */
export function userFeedEvent(event: RecordedEvent): FeedEvent {
  const { data } = readEvent(event);
  const frame: ServerFrame = {
    type: 'userEvent',
    seq: event.streamRevision,
    event: {
      eventId: event.eventId,
      type: event.type,
      data,
      actorId: event.metadata.actorId,
      occurredAt: event.metadata.occurredAt,
    },
  };
  return { seq: event.streamRevision, removes: undefined, frame: Buffer.from(JSON.stringify(frame)) };
}
