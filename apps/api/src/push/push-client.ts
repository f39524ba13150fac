/**
 * One socket of this node (PushClient) and the indexes over all of them (PushClients): by
 * conversation (who gets its events and typing), by session (who closes when it is revoked)
 * and by user (sockets counted, catch-up bytes shared). What goes out to a socket goes
 * through `send`/`write`, where a socket that reads too slowly is closed with a resync hint.
 */
import type { AccessClaims } from '@herald/identity';
import { WebSocket } from 'ws';
import { ByteBudget } from './budgets.js';
import type { ConversationFeed, FeedPorts } from './conversation-feed.js';
import { FrameQueue, type FrameSink } from './frame-queue.js';
import { CLOSE, type ServerFrame } from './frames.js';
import {
  CATCH_UP_SOCKET_BURST_BYTES,
  CATCH_UP_SOCKET_BYTES_PER_SECOND,
  CATCH_UP_USER_BURST_BYTES,
  CATCH_UP_USER_BYTES_PER_SECOND,
  MAX_BUFFERED,
  MAX_WAITING_FRAMES,
  PRESENCE_FRAMES_BURST,
} from './limits.js';

/** A frame as the socket delivered it, not parsed yet. */
export interface RawFrame {
  readonly data: WebSocket.RawData;
  readonly isBinary: boolean;
}

/** A socket's subscription to a conversation. */
export interface Subscription {
  readonly feed: ConversationFeed;
  /** When the client's last typing signal here was relayed. */
  typingAt: number;
  /** The other member of a direct conversation (a block of theirs silences typing). */
  readonly peer: string | undefined;
}

export interface FrameHandling {
  handle(client: PushClient, frame: RawFrame): Promise<void>;
  failed(client: PushClient, error: unknown): void;
}

/** Where a socket came from, for the log lines about it. */
export interface Peer {
  /** The peer's address, for the security log. */
  readonly ip: string | undefined;
  /**
   * The upgrade request's correlation id (its `traceparent`'s trace id, its `x-request-id`,
   * or a new one), as a REST request has: on every log line about the socket.
   */
  readonly correlationId: string;
}

/** What a socket counts as it writes (herald_push_frames_total, herald_push_slow_consumers_dropped_total): a `+= 1` each. */
export interface PushMeter {
  readonly frames: { inc(): void };
  readonly slowConsumers: { inc(): void };
}

const UNMETERED: PushMeter = { frames: { inc: () => undefined }, slowConsumers: { inc: () => undefined } };

/** Each socket's client: what the listeners every socket shares (push.gateway.ts, heartbeat.ts) find it by. */
const CLIENT_OF = new WeakMap<WebSocket, PushClient>();

/** The client of a socket opened here (undefined for one that never was). */
export const clientOf = (socket: WebSocket): PushClient | undefined => CLIENT_OF.get(socket);

/**
 * One socket. What an idle one holds is its fields and its subscriptions' feeds: no closure,
 * no timer, no buffer of its own (ADR 037); its frame queue's handlers are its methods.
 */
export class PushClient implements FrameSink<RawFrame> {
  readonly subscriptions = new Map<string, Subscription>();
  /** The user's own channel on this socket (`syncUser`), once asked for. */
  userFeed: ConversationFeed | undefined;
  /** What the socket's conversation feeds, and its own channel's, share (subscriptions.ts): made once each. */
  conversationPorts: FeedPorts | undefined;
  userPorts: FeedPorts | undefined;
  /** When its access token expires (ms): the close is armed in the handshake's Expiries. */
  expiresAt = Number.POSITIVE_INFINITY;
  /** Its place in the Expiries' heap (-1: none). */
  expiryIndex = -1;
  /** This socket's catch-up bytes. */
  readonly catchUpBytes: ByteBudget;
  /** When a refusal was last logged for this socket, and how many were not since. */
  refusalLoggedAt = 0;
  refusalsUnlogged = 0;
  /** Answered the last ping. */
  alive = true;
  /** Token bucket of presence frames. */
  presenceTokens = PRESENCE_FRAMES_BURST;
  presenceTokensAt: number;
  readonly frames: FrameQueue<RawFrame>;

  constructor(
    readonly socket: WebSocket,
    readonly peer: Peer,
    /** Who the socket is, and the session whose access token it holds (an `auth` frame may change the session). */
    public caller: AccessClaims,
    private readonly handling: FrameHandling,
    now = Date.now(),
    private readonly meter: PushMeter = UNMETERED,
  ) {
    this.catchUpBytes = new ByteBudget(CATCH_UP_SOCKET_BYTES_PER_SECOND, CATCH_UP_SOCKET_BURST_BYTES, now);
    this.presenceTokensAt = now;
    this.frames = new FrameQueue<RawFrame>(this, MAX_WAITING_FRAMES);
    CLIENT_OF.set(socket, this);
  }

  /** A frame of the client's, its turn come (FrameSink). */
  handle(frame: RawFrame): Promise<void> {
    return this.handling.handle(this, frame);
  }

  /** MAX_WAITING_FRAMES are waiting and more came (FrameSink). */
  overflow(): void {
    this.send({
      type: 'error',
      code: 'PUSH.RATE_LIMITED',
      message: `${MAX_WAITING_FRAMES} frames waiting: frames dropped until they are handled`,
    });
  }

  /** A frame's handling threw (FrameSink). */
  failed(error: unknown): void {
    this.handling.failed(this, error);
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  send(frame: ServerFrame): void {
    this.write(Buffer.from(JSON.stringify(frame)));
  }

  write(frame: Buffer): void {
    const socket = this.socket;
    if (socket.readyState !== WebSocket.OPEN) return;
    if (socket.bufferedAmount > MAX_BUFFERED) {
      this.meter.slowConsumers.inc();
      socket.close(CLOSE.slowConsumer, 'too slow: reconnect and sync');
      // A peer that does not read will not read the close frame either.
      setTimeout(() => socket.terminate(), 1_000).unref();
      return;
    }
    socket.send(frame, TEXT);
    this.meter.frames.inc();
  }

  /**
   * Over a rate limit: the first frame refused says when to come back, and the socket is
   * not read until then (what the client sends meanwhile waits in TCP), so a flood costs
   * neither a parse nor an answer per frame. Frames read already are dropped.
   */
  rateLimited(
    retryAfterSeconds: number,
    message = 'Too many requests: frame dropped; this socket is read again after retryAfterSeconds',
  ): void {
    if (this.frames.pauseFor(retryAfterSeconds * 1000)) {
      this.send({ type: 'error', code: 'PUSH.RATE_LIMITED', message, retryAfterSeconds });
    }
  }

  /** Takes a token from the presence bucket: 0, or (none taken) the ms until there is one. */
  takePresenceToken(perSecond: number, burst: number, now = Date.now()): number {
    this.presenceTokens = Math.min(burst, this.presenceTokens + ((now - this.presenceTokensAt) / 1000) * perSecond);
    this.presenceTokensAt = now;
    if (this.presenceTokens < 1) return ((1 - this.presenceTokens) / perSecond) * 1000;
    this.presenceTokens -= 1;
    return 0;
  }
}

/** One options object for every send: none is made per frame. */
const TEXT = { binary: false } as const;

/** This node's sockets, indexed. */
export class PushClients {
  /** Sockets open here (herald_websocket_connections). */
  private open = 0;

  get connections(): number {
    return this.open;
  }

  /** Every socket, for the heartbeat's sweep: iterated in place, nothing made per socket. */
  private readonly everyone = new Set<PushClient>();
  private readonly byConversation = new Map<string, Set<PushClient>>();
  private readonly bySession = new Map<string, Set<PushClient>>();
  /** Sockets that follow their user's own channel, by user. */
  private readonly byUserChannel = new Map<string, Set<PushClient>>();
  /** Catch-up bytes of each user with a socket on this node, shared by their sockets. */
  private readonly byUser = new Map<string, { readonly budget: ByteBudget; sockets: number }>();

  /** Sockets the user has open here. */
  socketsOf(userId: string): number {
    return this.byUser.get(userId)?.sockets ?? 0;
  }

  /** The catch-up bytes all of the user's sockets here share. */
  budgetOf(userId: string): ByteBudget | undefined {
    return this.byUser.get(userId)?.budget;
  }

  /** Every socket, each once. */
  all(): ReadonlySet<PushClient> {
    return this.everyone;
  }

  /** The conversation's subscribers, as the live set (fanout.ts walks it without a copy). */
  subscribersOf(conversationId: string): ReadonlySet<PushClient> | undefined {
    return this.byConversation.get(conversationId);
  }

  inConversation(conversationId: string): readonly PushClient[] {
    return [...(this.byConversation.get(conversationId) ?? [])];
  }

  /** The user's sockets here that follow their own channel. */
  followingUser(userId: string): readonly PushClient[] {
    return [...(this.byUserChannel.get(userId) ?? [])];
  }

  /** The socket follows its user's channel with `feed` (replacing the one it had). */
  followed(client: PushClient, feed: ConversationFeed): void {
    const previous = client.userFeed;
    client.userFeed = feed;
    add(this.byUserChannel, client.caller.userId, client);
    previous?.end();
  }

  /** Ends the socket's user channel if it is still `feed`. */
  unfollowed(client: PushClient, feed: ConversationFeed): void {
    if (client.userFeed !== feed) return;
    client.userFeed = undefined;
    remove(this.byUserChannel, client.caller.userId, client);
  }

  ofSession(sessionId: string): readonly PushClient[] {
    return [...(this.bySession.get(sessionId) ?? [])];
  }

  opened(client: PushClient, now = Date.now()): void {
    this.open++;
    this.everyone.add(client);
    add(this.bySession, client.caller.sessionId, client);
    const user = this.byUser.get(client.caller.userId);
    if (user) user.sockets++;
    else
      this.byUser.set(client.caller.userId, {
        budget: new ByteBudget(CATCH_UP_USER_BYTES_PER_SECOND, CATCH_UP_USER_BURST_BYTES, now),
        sockets: 1,
      });
  }

  closed(client: PushClient): void {
    this.open--;
    this.everyone.delete(client);
    remove(this.bySession, client.caller.sessionId, client);
    const user = this.byUser.get(client.caller.userId);
    if (user && --user.sockets === 0) this.byUser.delete(client.caller.userId);
    for (const subscription of [...client.subscriptions.values()]) subscription.feed.end();
    client.userFeed?.end();
  }

  /** The socket now holds a token of `caller`'s session (same user): a sign-out of the old one no longer closes it. */
  reauthenticated(client: PushClient, caller: AccessClaims): void {
    remove(this.bySession, client.caller.sessionId, client);
    client.caller = caller;
    add(this.bySession, caller.sessionId, client);
  }

  subscribed(client: PushClient, conversationId: string, subscription: Subscription): void {
    client.subscriptions.set(conversationId, subscription);
    add(this.byConversation, conversationId, client);
  }

  /** Ends the socket's subscription to the feed's conversation if it is still that `feed`. */
  unsubscribed(client: PushClient, feed: ConversationFeed): void {
    const conversationId = feed.conversationId;
    if (client.subscriptions.get(conversationId)?.feed !== feed) return;
    client.subscriptions.delete(conversationId);
    remove(this.byConversation, conversationId, client);
  }
}

function add<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key) ?? new Set<V>();
  set.add(value);
  map.set(key, set);
}

function remove<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}
