import { describe, expect, it } from 'vitest';
import { ConversationFeed, type FeedEvent, type FeedOptions, type FeedPorts } from './conversation-feed.js';

const ME = 'me';
const conversationId = 'c';

/** A message at `seq`, or the event that removes `removes` from the conversation. */
const event = (seq: number, removes?: string): FeedEvent => ({
  seq,
  removes,
  frame: Buffer.from(`event ${seq}`),
});

/** A conversation's stream of `count` messages (seq 0 to count - 1). */
const stream = (count: number): FeedEvent[] => Array.from({ length: count }, (_, seq) => event(seq));

interface Script {
  /** The conversation's stream as the store has it when read. */
  stream: FeedEvent[];
  claimed: number;
  /** The last seq when the client was found a member (default: the stream's last). */
  head?: number;
  pageSize?: number;
  maxCatchUp?: number;
  /** Runs during the n-th read (from 0), before it answers: live events arriving meanwhile. */
  duringRead?: (feed: ConversationFeed, read: number) => void;
  failRead?: boolean;
  frames?: FeedOptions['frames'];
}

/** A feed over scripted ports; `sent` is what the client received, in order. */
function feedOf(script: Script) {
  const sent: string[] = [];
  const reads: number[] = [];
  const charged: number[] = [];
  let open = true;
  let ends = 0;
  const ports: FeedPorts = {
    open: () => open,
    paced: () => Promise.resolve(),
    slot: () => Promise.resolve(() => undefined),
    read: async (_, from, limit) => {
      reads.push(from);
      await Promise.resolve();
      script.duringRead?.(feed, reads.length - 1);
      if (script.failRead) throw new Error('store unreachable');
      return script.stream.filter((e) => e.seq >= from).slice(0, limit);
    },
    charge: (bytes) => charged.push(bytes),
    write: (e) => sent.push(e.frame.toString()),
    send: (frame) => sent.push('seq' in frame ? `${frame.type} ${frame.seq}` : frame.type),
    ended: () => ends++,
  };
  const options: FeedOptions = {
    conversationId,
    userId: ME,
    claimed: script.claimed,
    head: script.head ?? script.stream.length - 1,
    ports,
    pageSize: script.pageSize ?? 16,
    maxCatchUp: script.maxCatchUp ?? 500,
    ...(script.frames ? { frames: script.frames } : {}),
  };
  const feed = new ConversationFeed(options);
  return {
    feed,
    sent,
    reads,
    charged,
    ends: () => ends,
    close: () => (open = false),
  };
}

describe('a conversation feed: catch-up then live, by seq', () => {
  it('sends what the client missed from the seq after its own, then synced at the last one', async () => {
    const { feed, sent } = feedOf({ stream: stream(5), claimed: 1 });
    await feed.start();
    expect(sent).toEqual(['event 2', 'event 3', 'event 4', 'synced 4']);
  });

  it('a client with nothing yet (-1) is sent the whole stream', async () => {
    const { feed, sent } = feedOf({ stream: stream(3), claimed: -1 });
    await feed.start();
    expect(sent).toEqual(['event 0', 'event 1', 'event 2', 'synced 2']);
  });

  it('a client that has everything is sent synced alone', async () => {
    const { feed, sent } = feedOf({ stream: stream(3), claimed: 2 });
    await feed.start();
    expect(sent).toEqual(['synced 2']);
  });

  it('reads a page at a time until a page comes back short', async () => {
    const { feed, sent, reads } = feedOf({ stream: stream(5), claimed: -1, pageSize: 2 });
    await feed.start();
    expect(reads).toEqual([0, 2, 4]);
    expect(sent).toEqual(['event 0', 'event 1', 'event 2', 'event 3', 'event 4', 'synced 4']);
  });

  it('charges the budgets with the bytes of each page it sent', async () => {
    const { feed, charged } = feedOf({ stream: stream(3), claimed: -1, pageSize: 2 });
    await feed.start();
    expect(charged).toEqual(['event 0event 1'.length, 'event 2'.length]);
  });

  it('live events arriving during the catch-up are queued and sent after it, in seq order', async () => {
    const events = stream(5);
    const { feed, sent } = feedOf({
      stream: events,
      claimed: 1,
      head: 4,
      duringRead: (f, read) => {
        if (read > 0) return;
        f.live(event(5));
        f.live(event(6));
      },
    });
    await feed.start();
    expect(sent).toEqual(['event 2', 'event 3', 'event 4', 'event 5', 'event 6', 'synced 6']);
  });

  it('a live event the catch-up read as well is sent once: repeats by seq are dropped', async () => {
    const { feed, sent } = feedOf({
      stream: stream(7),
      claimed: 3,
      head: 4,
      // Committed after the membership check, so both queued live and found by the read.
      duringRead: (f) => {
        f.live(event(5));
        f.live(event(6));
      },
    });
    await feed.start();
    expect(sent).toEqual(['event 4', 'event 5', 'event 6', 'synced 6']);
  });

  it('stops reading where the queued live events take over', async () => {
    const { feed, sent, reads } = feedOf({
      stream: stream(4),
      claimed: -1,
      head: 1,
      pageSize: 2,
      duringRead: (f, read) => {
        if (read > 0) return;
        f.live(event(2));
        f.live(event(3));
      },
    });
    await feed.start();
    expect(reads).toEqual([0]);
    expect(sent).toEqual(['event 0', 'event 1', 'event 2', 'event 3', 'synced 3']);
  });

  it('once synced, live events are sent as they come and repeats are dropped', async () => {
    const { feed, sent } = feedOf({ stream: stream(2), claimed: 1 });
    await feed.start();
    feed.live(event(2));
    feed.live(event(2));
    feed.live(event(1));
    feed.live(event(3));
    expect(sent).toEqual(['synced 1', 'event 2', 'event 3']);
  });

  it('a gap in the live events becomes a resync at the seq to go on from, and the feed goes on after it', async () => {
    const { feed, sent } = feedOf({ stream: stream(2), claimed: 1 });
    await feed.start();
    feed.live(event(5));
    feed.live(event(6));
    expect(sent).toEqual(['synced 1', 'resync 5', 'event 6']);
  });

  it('a gap among the queued live events becomes a resync before synced', async () => {
    const { feed, sent } = feedOf({
      stream: stream(3),
      claimed: 2,
      duringRead: (f) => f.live(event(4)),
    });
    await feed.start();
    expect(sent).toEqual(['resync 4', 'synced 4']);
  });

  it('past the replay bound the client is sent resync at the head and no history, then live', async () => {
    const { feed, sent, reads } = feedOf({ stream: stream(12), claimed: 0, maxCatchUp: 10 });
    await feed.start();
    feed.live(event(12));
    expect(sent).toEqual(['resync 11', 'synced 11', 'event 12']);
    expect(reads).toEqual([12]);
  });

  it("a feed given its own frames (a user's channel) says synced and resync with them", async () => {
    const frames: FeedOptions['frames'] = {
      synced: (_, seq) => ({ type: 'userSynced', seq }),
      resync: (_, seq, reason) => ({ type: 'userResync', seq, reason }),
    };
    const { feed, sent } = feedOf({ stream: stream(12), claimed: 0, maxCatchUp: 10, frames });
    await feed.start();
    feed.live(event(14));
    expect(sent).toEqual(['userResync 11', 'userSynced 11', 'userResync 14']);
  });

  it('exactly the replay bound missed is replayed, not resynced', async () => {
    const { feed, sent } = feedOf({ stream: stream(11), claimed: 0, maxCatchUp: 10 });
    await feed.start();
    expect(sent).toHaveLength(11);
    expect(sent[0]).toBe('event 1');
    expect(sent.at(-1)).toBe('synced 10');
  });

  it('a client claiming seqs that do not exist yet goes on from the last one there is', async () => {
    const { feed, sent, reads } = feedOf({ stream: stream(4), claimed: 1_000 });
    await feed.start();
    feed.live(event(4));
    expect(reads).toEqual([4]);
    expect(sent).toEqual(['synced 3', 'event 4']);
  });
});

describe('a conversation feed: a member who leaves or is kicked', () => {
  it('a kicked member gets the live event that removed them and nothing after it', async () => {
    const { feed, sent, ends } = feedOf({ stream: stream(2), claimed: 1 });
    await feed.start();
    feed.live(event(2, ME));
    feed.live(event(3));
    expect(sent).toEqual(['synced 1', 'event 2']);
    expect(ends()).toBe(1);
    expect(feed.active).toBe(false);
  });

  it('a removal met during the catch-up is sent, then nothing more: no later event, no synced', async () => {
    const events = [...stream(3), event(3, ME), event(4)];
    const { feed, sent, ends } = feedOf({
      stream: events,
      claimed: 1,
      head: 2,
      duringRead: (f) => {
        f.live(event(3, ME));
        f.live(event(4));
      },
    });
    await feed.start();
    expect(sent).toEqual(['event 2', 'event 3']);
    expect(ends()).toBe(1);
  });

  it('a removal among the queued live events ends the feed before synced', async () => {
    const { feed, sent, ends } = feedOf({
      stream: stream(2),
      claimed: 0,
      duringRead: (f) => {
        f.live(event(2, ME));
        f.live(event(3));
      },
    });
    await feed.start();
    expect(sent).toEqual(['event 1', 'event 2']);
    expect(ends()).toBe(1);
  });

  it('a removal the client had already is not sent again, and still ends the feed', async () => {
    const { feed, sent, ends } = feedOf({ stream: stream(2), claimed: 1 });
    await feed.start();
    feed.live(event(3));
    feed.live(event(3, ME));
    expect(sent).toEqual(['synced 1', 'resync 3']);
    expect(ends()).toBe(1);
  });

  it('a removal before they were found a member again is history: they came back, and the feed goes on', async () => {
    const events = [event(0), event(1, ME), event(2), event(3)];
    const { feed, sent, ends } = feedOf({ stream: events, claimed: -1 });
    await feed.start();
    feed.live(event(4));
    expect(sent).toEqual(['event 0', 'event 1', 'event 2', 'event 3', 'synced 3', 'event 4']);
    expect(ends()).toBe(0);
  });

  it("another member's removal is sent as any event", async () => {
    const { feed, sent, ends } = feedOf({ stream: stream(2), claimed: 1 });
    await feed.start();
    feed.live(event(2, 'someone else'));
    feed.live(event(3));
    expect(sent).toEqual(['synced 1', 'event 2', 'event 3']);
    expect(ends()).toBe(0);
  });
});

describe('a conversation feed: ending', () => {
  it('a feed ended during the catch-up reads no further and sends nothing more', async () => {
    const { feed, sent, reads } = feedOf({
      stream: stream(6),
      claimed: -1,
      pageSize: 2,
      duringRead: (f, read) => {
        if (read === 1) f.end();
      },
    });
    await feed.start();
    expect(reads).toEqual([0, 2]);
    expect(sent).toEqual(['event 0', 'event 1']);
  });

  it('a socket closed during the catch-up is read no further', async () => {
    let close = (): void => undefined;
    const script = feedOf({ stream: stream(6), claimed: -1, pageSize: 2, duringRead: () => close() });
    close = script.close;
    await script.feed.start();
    expect(script.reads).toEqual([0]);
  });

  it('an ended feed sends no live event', async () => {
    const { feed, sent, ends } = feedOf({ stream: stream(2), claimed: 1 });
    await feed.start();
    feed.end();
    feed.end();
    feed.live(event(2));
    expect(sent).toEqual(['synced 1']);
    expect(ends()).toBe(1);
  });

  it('a read that fails ends the feed and rejects', async () => {
    const { feed, sent, ends } = feedOf({ stream: stream(2), claimed: -1, failRead: true });
    await expect(feed.start()).rejects.toThrow('store unreachable');
    feed.live(event(2));
    expect(sent).toEqual([]);
    expect(ends()).toBe(1);
  });
});
