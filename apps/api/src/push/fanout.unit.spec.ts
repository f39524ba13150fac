import { describe, expect, it } from 'vitest';
import { ConversationFeed, type FeedEvent } from './conversation-feed.js';
import { Activity, ACTIVE_WINDOW_MS, Fanout } from './fanout.js';

const CHUNK = 10;

interface Sub {
  readonly userId: string;
  readonly feed: ConversationFeed;
  /** The seqs its socket was written, in order. */
  readonly received: number[];
}

/** A set that counts the subscribers pulled out of it by any walk: a copy would show as a pull of all of them. */
class CountedSet<T> extends Set<T> {
  pulled = 0;
  override values(): SetIterator<T> {
    const inner = super.values();
    const counted = Object.assign(Object.create(inner) as SetIterator<T>, {
      next: () => {
        const next = inner.next();
        if (!next.done) this.pulled++;
        return next;
      },
    });
    return counted;
  }
  override [Symbol.iterator](): SetIterator<T> {
    return this.values();
  }
}

const event = (seq: number): FeedEvent => ({ seq, removes: undefined, frame: Buffer.from(String(seq)) });

/** A node: conversations' subscriber sets, real feeds (which drop repeats by seq), a turn queue run by hand. */
function node() {
  const sets = new Map<string, CountedSet<Sub>>();
  const activity = new Activity();
  const turns: (() => void)[] = [];
  /** Every delivery written to a socket, in order: [userId, seq]. */
  const written: [string, string, number][] = [];
  let now = 1_000_000;
  const fanout = new Fanout<Sub, FeedEvent>(
    {
      subscribers: (id) => sets.get(id),
      active: (sub, at) => activity.active(sub.userId, at),
      deliver: (sub, _id, e) => sub.feed.live(e),
      now: () => now,
      later: (work) => turns.push(work),
    },
    CHUNK,
  );
  /** A socket subscribed to the conversation, live from `head`. */
  const subscribe = async (conversationId: string, userId: string, head = -1): Promise<Sub> => {
    const received: number[] = [];
    const feed = new ConversationFeed({
      conversationId,
      userId,
      claimed: head,
      head,
      ports: {
        open: () => true,
        paced: () => Promise.resolve(),
        slot: () => Promise.resolve(() => undefined),
        read: () => Promise.resolve([]),
        charge: () => undefined,
        write: (e) => {
          received.push(e.seq);
          written.push([conversationId, userId, e.seq]);
        },
        send: () => undefined,
        ended: () => sets.get(conversationId)?.delete(sub),
      },
    });
    const sub: Sub = { userId, feed, received };
    await feed.start();
    const set = sets.get(conversationId) ?? new CountedSet<Sub>();
    set.add(sub);
    sets.set(conversationId, set);
    return sub;
  };
  const runTurn = (): boolean => {
    const work = turns.shift();
    work?.();
    return work !== undefined;
  };
  const drain = (): number => {
    let n = 0;
    while (runTurn()) n++;
    return n;
  };
  return {
    fanout,
    sets,
    activity,
    subscribe,
    runTurn,
    drain,
    written,
    turns,
    tick: (ms: number) => (now += ms),
    now: () => now,
  };
}

const many = async (n: ReturnType<typeof node>, conversationId: string, count: number, head = -1): Promise<Sub[]> => {
  const subs: Sub[] = [];
  for (let i = 0; i < count; i++) subs.push(await n.subscribe(conversationId, `${conversationId}-u${i}`, head));
  return subs;
};

describe('fanout: a small conversation', () => {
  it('gets its event at once, in the call, each subscriber once', async () => {
    const n = node();
    const subs = await many(n, 'small', CHUNK);
    n.fanout.live('small', event(0));
    expect(subs.map((s) => s.received)).toEqual(subs.map(() => [0]));
    expect(n.turns).toHaveLength(0);
  });
});

describe('fanout: a large conversation', () => {
  it('reaches the active subscribers before any idle one', async () => {
    const n = node();
    const subs = await many(n, 'big', 100);
    // Every seventh user acted a minute ago; one acted long ago (idle now).
    const active = new Set(subs.filter((_, i) => i % 7 === 3).map((s) => s.userId));
    for (const userId of active) n.activity.acted(userId, n.now() - 60_000);
    n.activity.acted(subs[0]!.userId, n.now() - ACTIVE_WINDOW_MS - 1);
    n.fanout.live('big', event(0));
    n.drain();
    const order = n.written.map(([, userId]) => userId);
    expect(order).toHaveLength(100);
    expect(new Set(order.slice(0, active.size))).toEqual(active);
  });

  it('every subscriber gets every event exactly once, in seq order, while events keep coming, sockets come and go and users become active', async () => {
    const n = node();
    const subs = await many(n, 'big', 95);
    n.activity.acted(subs[5]!.userId, n.now());
    n.fanout.live('big', event(0));
    n.runTurn();
    // Mid-walk: more events, one idle user becomes active, one socket goes, one arrives (live from seq 1).
    n.fanout.live('big', event(1));
    n.activity.acted(subs[90]!.userId, n.now());
    subs[50]!.feed.end();
    const late = await n.subscribe('big', 'late', 1);
    n.runTurn();
    n.fanout.live('big', event(2));
    n.runTurn();
    n.runTurn();
    n.fanout.live('big', event(3));
    n.drain();
    n.fanout.live('big', event(4));
    n.drain();
    for (const [i, sub] of subs.entries()) {
      // The socket that went gets a beginning of them, nothing out of order.
      if (i === 50) expect(sub.received).toEqual([0, 1, 2, 3, 4].slice(0, sub.received.length));
      else expect({ i, received: sub.received }).toEqual({ i, received: [0, 1, 2, 3, 4] });
    }
    expect(late.received).toEqual([2, 3, 4]);
    expect(n.fanout.pending).toBe(0);
  });

  it('walks its live subscriber set a chunk per turn, never copying it', async () => {
    const n = node();
    await many(n, 'big', 200);
    const set = n.sets.get('big')!;
    set.pulled = 0;
    n.fanout.live('big', event(0));
    let turns = 0;
    let before = 0;
    const perTurn: { pulled: number; written: number }[] = [];
    while (n.turns.length > 0) {
      const written = n.written.length;
      n.runTurn();
      turns++;
      perTurn.push({ pulled: set.pulled - before, written: n.written.length - written });
      before = set.pulled;
    }
    // Two walks of 200 (active ones first, then all): at most 4 chunks of idle ones passed over, or a chunk written, per turn.
    expect(set.pulled).toBe(400);
    expect(perTurn.every((t) => t.pulled <= CHUNK * 4 && t.written <= CHUNK)).toBe(true);
    expect(turns).toBeGreaterThan(200 / CHUNK);
  });
});

describe('fanout: fairness', () => {
  it("a small conversation's event is delivered at once while a large fan-out is under way", async () => {
    const n = node();
    const big = await many(n, 'big', 100);
    const small = await many(n, 'small', 3);
    n.fanout.live('big', event(0));
    n.runTurn();
    expect(n.fanout.busy('big')).toBe(true);
    n.fanout.live('small', event(0));
    expect(small.map((s) => s.received)).toEqual([[0], [0], [0]]);
    expect(big.some((s) => s.received.length === 0)).toBe(true);
    n.drain();
    expect(big.every((s) => s.received.length === 1)).toBe(true);
  });

  it('two large fan-outs take turns: the second starts before the first ends', async () => {
    const n = node();
    await many(n, 'a', 100);
    await many(n, 'b', 100);
    n.fanout.live('a', event(0));
    n.fanout.live('b', event(0));
    n.drain();
    const conversations = n.written.map(([c]) => c);
    expect(conversations.indexOf('b')).toBeLessThan(conversations.lastIndexOf('a'));
  });
});

describe('activity', () => {
  it('a user is active for ACTIVE_WINDOW_MS after acting, and forgotten when their last socket goes', () => {
    const activity = new Activity();
    expect(activity.active('u', 0)).toBe(false);
    activity.acted('u', 1_000);
    expect(activity.active('u', 1_000 + ACTIVE_WINDOW_MS - 1)).toBe(true);
    expect(activity.active('u', 1_000 + ACTIVE_WINDOW_MS)).toBe(false);
    activity.acted('u', 5_000);
    activity.forget('u');
    expect(activity.active('u', 5_000)).toBe(false);
  });
});
