/**
 * Which sockets of this node get which conversation: a `sync` subscribes a socket to a
 * conversation once the conversation's stream says it is a member (so neither an event nor
 * a typing signal reaches it before), and starts its feed (conversation-feed.ts: the
 * catch-up, then live) over this node's store, budgets and read gate; each live event of a
 * conversation goes to its subscribers' feeds, read and serialized once, at once or in
 * chunks, active subscribers first (fanout.ts).
 */
import type { EventStore, RecordedEvent } from '@herald/event-store';
import { streamIdOf } from '@herald/events';
import type { JsonLogger } from '@herald/nest';
import type { FairGate } from './budgets.js';
import { ConversationFeed, feedEvent, type FeedEvent, type FeedPorts } from './conversation-feed.js';
import { Fanout, FANOUT_CHUNK } from './fanout.js';
import type { ServerFrame } from './frames.js';
import { REFUSAL_LOG_INTERVAL_MS } from './limits.js';
import type { PushClient, PushClients, Subscription } from './push-client.js';

/** A member as the conversation's stream says now. */
export interface Membership {
  /** The conversation's last seq. */
  readonly seq: number;
  /** The other member of a direct conversation. */
  readonly peer: string | undefined;
}

export interface SubscriptionsOptions {
  /**
   * The user's membership of the conversation, from its stream; undefined when none (or no
   * such conversation). Read after the call (not a read already on its way): its seq covers
   * every event committed before the call.
   */
  readonly membership: (conversationId: string, userId: string) => Promise<Membership | undefined>;
  readonly store: Pick<EventStore, 'readStream'>;
  readonly clients: PushClients;
  /** The reads of syncs in flight on this process (membership checks, catch-up pages). */
  readonly gate: FairGate;
  readonly logger: Pick<JsonLogger, 'emit'>;
  /** Whether the user acted lately: their sockets get a large conversation's events first (fanout.ts). */
  readonly active?: (userId: string, now: number) => boolean;
  /** Deliveries per turn of the event loop in a large conversation's fan-out. */
  readonly chunk?: number;
  /** Where a fan-out's next chunk runs: setImmediate. */
  readonly later?: (work: () => void) => void;
}

export class Subscriptions {
  /** Live events of conversations whose membership check is on its way, by conversation: one list per check. */
  private readonly early = new Map<string, Set<FeedEvent[]>>();

  private readonly fanout: Fanout<PushClient, FeedEvent>;

  constructor(private readonly options: SubscriptionsOptions) {
    const { clients, active } = options;
    this.fanout = new Fanout<PushClient, FeedEvent>(
      {
        subscribers: (conversationId) => clients.subscribersOf(conversationId),
        active: (client, now) => active?.(client.caller.userId, now) ?? false,
        deliver: (client, conversationId, event) => client.subscriptions.get(conversationId)?.feed.live(event),
        now: Date.now,
        later: options.later ?? ((work) => setImmediate(work)),
      },
      options.chunk ?? FANOUT_CHUNK,
    );
  }

  /** Resolves false when the conversation was refused (no such conversation, or not a member). */
  async subscribe(client: PushClient, conversationId: string, claimed: number): Promise<boolean> {
    const userId = client.caller.userId;
    // Membership first, from the conversation's stream: until it says so the socket is in no
    // subscriber set, and nothing of the conversation (event, typing) can reach it. For an
    // outsider this is all a sync costs: one state read, cached when the conversation exists
    // (an id that is none is read again each time: the caller charges refusals for it).
    // A read like a catch-up page's: it waits for a slot of the process's gate, in its user's turn.
    const release = await this.options.gate.acquire(userId);
    let membership: Membership | undefined;
    // The conversation's live events from before the membership read on, kept for the feed
    // (nothing reaches the socket before it is found a member): with them, the read's seq is
    // a head the client needs nothing before if it has it, and a client that is current is
    // caught up without a read of the stream (ADR 037).
    const early: FeedEvent[] = [];
    const waiting = this.early.get(conversationId) ?? new Set<FeedEvent[]>();
    try {
      if (!client.open) return true;
      this.early.set(conversationId, waiting.add(early));
      membership = await this.options.membership(conversationId, userId);
    } finally {
      release();
      waiting.delete(early);
      if (waiting.size === 0 && this.early.get(conversationId) === waiting) this.early.delete(conversationId);
    }
    if (!client.open) return true;
    if (!membership) {
      // Not a member (any more): whatever subscription the socket had ends too.
      client.subscriptions.get(conversationId)?.feed.end();
      this.notFound(client, conversationId);
      return false;
    }
    const previous = client.subscriptions.get(conversationId);
    const feed = new ConversationFeed({
      conversationId,
      userId,
      claimed,
      head: membership.seq,
      headFresh: true,
      ports: this.portsOf(client),
    });
    for (const event of early) feed.live(event);
    const subscription: Subscription = { feed, typingAt: previous?.typingAt ?? 0, peer: membership.peer };
    this.options.clients.subscribed(client, conversationId, subscription);
    previous?.feed.end();
    await feed.start();
    return true;
  }

  /** A conversation's live event, to the feeds of its subscribers here (and those being checked). */
  live(conversationId: string, event: RecordedEvent): void {
    // Read and serialized only when some socket here will have it (or one being checked).
    const waiting = this.early.get(conversationId);
    if (!waiting && !this.fanout.busy(conversationId) && !this.options.clients.subscribersOf(conversationId)?.size)
      return;
    const ready = feedEvent(conversationId, event);
    if (waiting) for (const early of waiting) early.push(ready);
    this.fanout.live(conversationId, ready);
  }

  /** Answers a frame about a conversation the socket may not see: the same for none and not a member. */
  notFound(client: PushClient, conversationId: string): void {
    // Logged, but not a line per frame: an outsider naming ids in a loop would fill the log.
    const now = Date.now();
    if (now - client.refusalLoggedAt >= REFUSAL_LOG_INTERVAL_MS) {
      this.options.logger.emit('warn', 'authorization refused: CONVERSATION.NOT_FOUND', 'Push', undefined, {
        userId: client.caller.userId,
        correlationId: client.peer.correlationId,
        conversationId,
        ...(client.refusalsUnlogged > 0 ? { unloggedSince: client.refusalsUnlogged } : {}),
      });
      client.refusalLoggedAt = now;
      client.refusalsUnlogged = 0;
    } else {
      client.refusalsUnlogged++;
    }
    client.send({
      type: 'error',
      code: 'CONVERSATION.NOT_FOUND',
      conversationId,
      message: 'No such conversation, or you are not a member',
    });
  }

  /** The ports of all of the socket's conversation feeds: made with its first subscription, kept while it is open. */
  private portsOf(client: PushClient): FeedPorts {
    const { clients, gate } = this.options;
    return (client.conversationPorts ??= new SocketPorts(client, clients, gate, this.read, (feed) =>
      clients.unsubscribed(client, feed),
    ));
  }

  /** One reader for every socket: a page of a conversation's stream, read and serialized once. */
  private readonly read: FeedPorts['read'] = async (conversationId, from, limit) =>
    (await this.options.store.readStream(streamIdOf('conversation', conversationId), { from, limit })).map((event) =>
      feedEvent(conversationId, event),
    );
}

/**
 * A socket's catch-ups (of conversations, and of the user's own channel): each page waits
 * until neither the socket's nor the user's byte budget is in debt, then for a slot of the
 * process's gate (held only while reading and serializing), and is charged to both once sent.
 * Methods, not closures: one small object per socket and kind of feed (ADR 037).
 */
export class SocketPorts implements FeedPorts {
  constructor(
    private readonly client: PushClient,
    private readonly clients: PushClients,
    private readonly gate: FairGate,
    readonly read: FeedPorts['read'],
    readonly ended: FeedPorts['ended'],
  ) {}

  open(): boolean {
    return this.client.open;
  }

  async paced(): Promise<void> {
    const { client, clients } = this;
    for (;;) {
      const now = Date.now();
      const wait = Math.max(client.catchUpBytes.waitMs(now), clients.budgetOf(client.caller.userId)?.waitMs(now) ?? 0);
      if (wait === 0) return;
      await sleep(wait);
    }
  }

  slot(): Promise<() => void> {
    return this.gate.acquire(this.client.caller.userId);
  }

  charge(bytes: number): void {
    const now = Date.now();
    this.client.catchUpBytes.charge(bytes, now);
    this.clients.budgetOf(this.client.caller.userId)?.charge(bytes, now);
  }

  write(event: FeedEvent): void {
    this.client.write(event.frame);
  }

  send(frame: ServerFrame): void {
    this.client.send(frame);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
