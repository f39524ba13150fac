/**
 * Where the WebSocket catch-up happens: one socket's feed of one conversation, from the seq
 * the client has to live, in seq order with no gap and no duplicate at the seam (ADR 006).
 *
 * The feed replays what the client missed from the conversation's stream, a page at a time,
 * while live events that arrive meanwhile wait in a queue; once the stream has no more (or
 * the queue takes over), the queue is delivered and the client is told `synced`. Every
 * event, replayed or live, goes through one check by seq: a repeat is dropped, a gap is
 * turned into a `resync`, and past MAX_CATCH_UP missed events the client is sent `resync`
 * instead of history. A member who leaves or is kicked gets the event that removed them and
 * nothing after it.
 *
 * The same seam feeds a user's own channel (user-channel.ts: their receipts stream, by its
 * revision), with its own `synced` and `resync` frames (`frames`).
 *
 * No sockets and no database: reading, pacing and sending come in as ports (the gateway's
 * socket, the event store, budgets.ts), so the seam is unit-tested with scripted sequences.
 */
import { readEvent } from '@herald/events';
import type { RecordedEvent } from '@herald/event-store';
import type { ServerFrame } from './frames.js';
import { CATCH_UP_PAGE, MAX_CATCH_UP } from './limits.js';

/** An event as it is pushed: read and serialized once, however many sockets it goes to. */
export interface FeedEvent {
  readonly seq: number;
  /** The member the event removes (they get it, and nothing after it). */
  readonly removes: string | undefined;
  readonly frame: Buffer;
}

/**
 * What a feed needs of the outside world: one object for all of a socket's feeds of a kind
 * (its conversations, its own channel), not one per feed, so that an idle subscription is
 * its feed's few fields and nothing more (ADR 037).
 */
export interface FeedPorts {
  /** Whether the socket is still open: a closed one is read for no more. */
  open(): boolean;
  /** Resolves once the byte budgets let the next page be read. */
  paced(): Promise<void>;
  /** A read slot of the process's: resolves with its release. */
  slot(): Promise<() => void>;
  /** Up to `limit` events of the conversation from seq `from` on. */
  read(conversationId: string, from: number, limit: number): Promise<readonly FeedEvent[]>;
  /** Catch-up bytes sent, for the budgets. */
  charge(bytes: number): void;
  /** Sends an event's frame. */
  write(event: FeedEvent): void;
  send(frame: ServerFrame): void;
  /** The feed ended (a removal, or `end()`): the socket is no subscriber any more. Called once per feed. */
  ended(feed: ConversationFeed): void;
}

/** The frames a feed says where it stands with (`key`: the feed's conversation id, or user id): a conversation's by default. */
export interface FeedFrames {
  synced(key: string, seq: number): ServerFrame;
  resync(key: string, seq: number, reason: string): ServerFrame;
}

/** One object for every feed: the frames are built when sent, from the feed's key. */
export const CONVERSATION_FRAMES: FeedFrames = {
  synced: (conversationId, seq) => ({ type: 'synced', conversationId, seq }),
  resync: (conversationId, seq, reason) => ({ type: 'resync', conversationId, seq, reason }),
};

export interface FeedOptions {
  /** The stream's key for `ports.read`: a conversation's id (or, for a user's channel, the user's). */
  readonly conversationId: string;
  /** Whose socket it is: a removal of theirs ends the feed. */
  readonly userId: string;
  /** The last seq the client says it has. */
  readonly claimed: number;
  /** The conversation's last seq when the client was found a member. */
  readonly head: number;
  readonly ports: FeedPorts;
  /**
   * `head` was read after the feed's live events were being kept (they are given to `live`
   * before `start`): a client that has it is caught up without reading the stream.
   */
  readonly headFresh?: boolean;
  readonly pageSize?: number;
  readonly maxCatchUp?: number;
  readonly frames?: FeedFrames;
}

export class ConversationFeed {
  readonly conversationId: string;
  private readonly userId: string;
  private readonly ports: FeedPorts;
  private readonly frames: FeedFrames;
  /** The last seq sent to the client. */
  private lastSeq: number;
  /**
   * The seq at which the client was found a member. A removal of theirs up to it is history
   * (they came back since); after it, it ends the feed.
   */
  private readonly memberAt: number;
  /** Reading what the client missed: live events wait in `queued` (made when the first comes). */
  private catchingUp = true;
  private queued: FeedEvent[] | undefined;
  private ended = false;
  private readonly pageSize: number;
  private readonly maxCatchUp: number;
  private readonly headFresh: boolean;

  /** Keeps what it needs of `options`, not the object: an idle feed holds its own fields only. */
  constructor(options: FeedOptions) {
    this.conversationId = options.conversationId;
    this.userId = options.userId;
    this.ports = options.ports;
    this.frames = options.frames ?? CONVERSATION_FRAMES;
    // A client cannot have seqs that do not exist yet: it goes on from the last one there is.
    this.lastSeq = Math.min(options.claimed, options.head);
    this.memberAt = options.head;
    this.pageSize = options.pageSize ?? CATCH_UP_PAGE;
    this.maxCatchUp = options.maxCatchUp ?? MAX_CATCH_UP;
    this.headFresh = options.headFresh ?? false;
  }

  /** Whether the feed still delivers (not ended, the socket open). */
  get active(): boolean {
    return !this.ended && this.ports.open();
  }

  /**
   * Catches up, then goes live: resolves once the client was sent `synced` (or the feed
   * ended). Live events from the feed's creation on wait in the queue meanwhile: the read
   * covers those committed before, and the seam drops what both have. A failed read ends
   * the feed and rejects.
   */
  async start(): Promise<void> {
    const head = this.memberAt;
    try {
      if (head - this.lastSeq > this.maxCatchUp) {
        this.lastSeq = head;
        this.ports.send(this.frames.resync(this.conversationId, head, `more than ${this.maxCatchUp} events missed`));
      }
      // Nothing after a fresh head but what came live (queued): no read. Else the read
      // covers what was committed before the feed kept live events, and the seam the rest.
      if (!(this.headFresh && this.lastSeq >= head)) await this.catchUp();
    } catch (error) {
      this.end();
      throw error;
    }
    if (this.ended) return;
    const queued = this.queued ?? [];
    this.catchingUp = false;
    this.queued = undefined;
    for (const event of queued) this.deliver(event);
    if (!this.ended) this.ports.send(this.frames.synced(this.conversationId, this.lastSeq));
  }

  /** A live event of the conversation, in log order. */
  live(event: FeedEvent): void {
    if (this.catchingUp) (this.queued ??= []).push(event);
    else this.deliver(event);
  }

  /** Ends the feed: nothing more is sent or read. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.ports.ended(this);
  }

  /**
   * Reads what the client missed, a page at a time: each page waits for the budgets, then
   * for a read slot (held only while reading). Stops when the stream has no more, or where
   * the live events queued meanwhile take over.
   */
  private async catchUp(): Promise<void> {
    const { ports, conversationId } = this;
    for (;;) {
      await ports.paced();
      if (!this.active) return;
      const release = await ports.slot();
      let page: readonly FeedEvent[];
      try {
        if (!this.active) return;
        page = await ports.read(conversationId, this.lastSeq + 1, this.pageSize);
      } finally {
        release();
      }
      let bytes = 0;
      for (const event of page) {
        bytes += event.frame.length;
        this.deliver(event);
      }
      ports.charge(bytes);
      if (page.length < this.pageSize || !this.active) return;
      const live = this.queued?.[0];
      if (live && live.seq <= this.lastSeq + 1) return;
    }
  }

  /** Sends one event if it is the next in seq; drops a repeat, and says `resync` over a gap. */
  private deliver(event: FeedEvent): void {
    // Ended meanwhile (a removal delivered earlier in the same page or queue): nothing more.
    if (this.ended) return;
    if (event.seq > this.lastSeq + 1) {
      // Cannot happen while this node follows the log in order; say so rather than skip.
      this.lastSeq = event.seq;
      this.ports.send(this.frames.resync(this.conversationId, event.seq, 'gap'));
    } else if (event.seq === this.lastSeq + 1) {
      this.lastSeq = event.seq;
      this.ports.write(event);
    }
    // Whoever left or was kicked gets the event that says so (unless they had it), and
    // nothing after it; looked at whatever was sent, so that no path can skip it.
    if (event.removes === this.userId && event.seq > this.memberAt) this.end();
  }
}

/** Reads an event through the catalogue and serializes its frame, once for every socket. */
export function feedEvent(conversationId: string, event: RecordedEvent): FeedEvent {
  const { data } = readEvent(event);
  const removes =
    event.type === 'MemberLeft' || event.type === 'MemberKicked' ? (data as { userId: string }).userId : undefined;
  const frame: ServerFrame = {
    type: 'event',
    conversationId,
    seq: event.streamRevision,
    event: {
      eventId: event.eventId,
      type: event.type,
      data,
      actorId: event.metadata.actorId,
      occurredAt: event.metadata.occurredAt,
    },
  };
  return { seq: event.streamRevision, removes, frame: Buffer.from(JSON.stringify(frame)) };
}
