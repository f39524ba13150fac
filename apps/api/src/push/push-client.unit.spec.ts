import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { CLOSE } from './frames.js';
import { MAX_BUFFERED, MAX_WAITING_FRAMES, PRESENCE_FRAMES_BURST, PRESENCE_FRAMES_PER_SECOND } from './limits.js';
import { PushClient, PushClients, type Subscription } from './push-client.js';
import { fakeClient, idleFeed } from './push.testing.js';

/** A subscription whose feed, once ended, takes the socket out of the conversation (as Subscriptions wires it). */
function subscribe(clients: PushClients, client: PushClient, conversationId: string): Subscription {
  const subscription: Subscription = {
    feed: idleFeed({
      conversationId,
      userId: client.caller.userId,
      ended: () => clients.unsubscribed(client, subscription.feed),
    }),
    typingAt: 0,
    peer: undefined,
  };
  clients.subscribed(client, conversationId, subscription);
  return subscription;
}

const frame = { type: 'error', code: 'PUSH.UNAVAILABLE', message: 'test' } as const;

afterEach(() => vi.useRealTimers());

describe("a socket's outgoing frames", () => {
  it('a frame is sent as JSON text while the socket is open', () => {
    const { ws, client } = fakeClient('ann');
    client.send(frame);
    expect(ws.received).toEqual([frame]);
  });

  it('nothing is sent to a socket that is closing or closed', () => {
    const { ws, client } = fakeClient('ann');
    ws.readyState = WebSocket.CLOSING;
    client.send(frame);
    ws.readyState = WebSocket.CLOSED;
    client.send(frame);
    expect(ws.received).toEqual([]);
    expect(client.open).toBe(false);
  });

  it(`a socket with up to ${MAX_BUFFERED} bytes waiting to go out is still sent to`, () => {
    const { ws, client } = fakeClient('ann');
    ws.bufferedAmount = MAX_BUFFERED;
    client.send(frame);
    expect(ws.received).toEqual([frame]);
    expect(ws.closes).toEqual([]);
  });

  it(`a socket with more than ${MAX_BUFFERED} bytes waiting is closed with ${CLOSE.slowConsumer} and told to sync, the frame not sent`, () => {
    const { ws, client } = fakeClient('ann');
    ws.bufferedAmount = MAX_BUFFERED + 1;
    client.send(frame);
    expect(ws.received).toEqual([]);
    expect(ws.closes).toEqual([[CLOSE.slowConsumer, 'too slow: reconnect and sync']]);
  });

  it('a slow socket is closed once: the frames that follow are dropped without another close', () => {
    const { ws, client } = fakeClient('ann');
    ws.bufferedAmount = MAX_BUFFERED + 1;
    client.send(frame);
    client.write(Buffer.from('{}'));
    client.send(frame);
    expect(ws.closes).toHaveLength(1);
    expect(ws.received).toEqual([]);
  });

  it('a slow socket that does not complete the close is terminated a second later', () => {
    vi.useFakeTimers();
    const { ws, client } = fakeClient('ann');
    ws.bufferedAmount = MAX_BUFFERED + 1;
    client.send(frame);
    vi.advanceTimersByTime(999);
    expect(ws.terminated).toBe(0);
    vi.advanceTimersByTime(1);
    expect(ws.terminated).toBe(1);
  });
});

describe("a socket's incoming frames", () => {
  it('over a rate limit, the first refusal says when to come back, the socket is not read until then, and the next refusals are silent', () => {
    vi.useFakeTimers();
    const { ws, client } = fakeClient('ann');
    client.rateLimited(3);
    client.rateLimited(3);
    expect(ws.received).toEqual([
      {
        type: 'error',
        code: 'PUSH.RATE_LIMITED',
        message: 'Too many requests: frame dropped; this socket is read again after retryAfterSeconds',
        retryAfterSeconds: 3,
      },
    ]);
    expect(ws.paused).toBe(true);
    vi.advanceTimersByTime(3_000);
    expect(ws.paused).toBe(false);
    client.rateLimited(1, 'custom');
    expect(ws.received).toHaveLength(2);
    expect(ws.received[1]).toMatchObject({ message: 'custom', retryAfterSeconds: 1 });
  });

  it(`past ${MAX_WAITING_FRAMES} frames waiting, the client is told once that frames are dropped`, async () => {
    let release = (): void => undefined;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const { ws, client } = fakeClient('ann', {
      sessionId: 's',
      handling: { handle: () => blocked, failed: () => undefined },
    });
    for (let i = 0; i < MAX_WAITING_FRAMES + 5; i++) client.frames.push({ data: Buffer.from('{}'), isBinary: false });
    expect(ws.received).toEqual([
      {
        type: 'error',
        code: 'PUSH.RATE_LIMITED',
        message: `${MAX_WAITING_FRAMES} frames waiting: frames dropped until they are handled`,
      },
    ]);
    expect(ws.paused).toBe(true);
    release();
    await client.frames.drained();
    expect(ws.paused).toBe(false);
  });
});

describe("a socket's presence frames bucket", () => {
  it(`allows a burst of ${PRESENCE_FRAMES_BURST} frames, then says how long until the next`, () => {
    const { client } = fakeClient('ann');
    const now = client.presenceTokensAt;
    for (let i = 0; i < PRESENCE_FRAMES_BURST; i++)
      expect(client.takePresenceToken(PRESENCE_FRAMES_PER_SECOND, PRESENCE_FRAMES_BURST, now)).toBe(0);
    expect(client.takePresenceToken(PRESENCE_FRAMES_PER_SECOND, PRESENCE_FRAMES_BURST, now)).toBe(
      1000 / PRESENCE_FRAMES_PER_SECOND,
    );
  });

  it('a frame refused takes no token; one comes back each 1/perSecond, up to the burst', () => {
    const { client } = fakeClient('ann');
    const start = client.presenceTokensAt;
    const take = (at: number) => client.takePresenceToken(PRESENCE_FRAMES_PER_SECOND, PRESENCE_FRAMES_BURST, at);
    for (let i = 0; i < PRESENCE_FRAMES_BURST; i++) take(start);
    const step = 1000 / PRESENCE_FRAMES_PER_SECOND;
    expect(take(start + step / 2)).toBe(step / 2);
    expect(take(start + step)).toBe(0);
    expect(take(start + step)).toBe(step);
    // A long quiet refills the bucket to the burst, not beyond.
    const later = start + 3_600_000;
    for (let i = 0; i < PRESENCE_FRAMES_BURST; i++) expect(take(later)).toBe(0);
    expect(take(later)).toBeGreaterThan(0);
  });
});

describe("this node's sockets, indexed", () => {
  it("a user's sockets are counted and share one catch-up budget, forgotten with the last socket", () => {
    const clients = new PushClients();
    const phone = fakeClient('ann', { sessionId: 'phone' }).client;
    const laptop = fakeClient('ann', { sessionId: 'laptop' }).client;
    clients.opened(phone);
    clients.opened(laptop);
    expect(clients.socketsOf('ann')).toBe(2);
    const budget = clients.budgetOf('ann');
    expect(budget).toBeDefined();
    clients.closed(phone);
    expect(clients.socketsOf('ann')).toBe(1);
    expect(clients.budgetOf('ann')).toBe(budget);
    clients.closed(laptop);
    expect(clients.socketsOf('ann')).toBe(0);
    expect(clients.budgetOf('ann')).toBeUndefined();
  });

  it('lists every socket once, and those of a session', () => {
    const clients = new PushClients();
    const a = fakeClient('ann', { sessionId: 's1' }).client;
    const b = fakeClient('ann', { sessionId: 's1' }).client;
    const c = fakeClient('bob', { sessionId: 's2' }).client;
    for (const client of [a, b, c]) clients.opened(client);
    expect([...clients.all()]).toEqual([a, b, c]);
    expect(clients.ofSession('s1')).toEqual([a, b]);
    expect(clients.ofSession('s3')).toEqual([]);
  });

  it("a socket given a token of another session leaves the old session's list: its revocation no longer finds it", () => {
    const clients = new PushClients();
    const a = fakeClient('ann', { sessionId: 'old' }).client;
    clients.opened(a);
    clients.reauthenticated(a, { userId: 'ann', sessionId: 'new' });
    expect(clients.ofSession('old')).toEqual([]);
    expect(clients.ofSession('new')).toEqual([a]);
    expect(a.caller.sessionId).toBe('new');
    clients.closed(a);
    expect([...clients.all()]).toEqual([]);
  });

  it("a closed socket's feeds end, and it leaves every conversation it was subscribed to", () => {
    const clients = new PushClients();
    const a = fakeClient('ann').client;
    const b = fakeClient('bob').client;
    clients.opened(a);
    clients.opened(b);
    subscribe(clients, a, 'c1');
    subscribe(clients, a, 'c2');
    subscribe(clients, b, 'c1');
    clients.closed(a);
    expect(clients.inConversation('c1')).toEqual([b]);
    expect(clients.inConversation('c2')).toEqual([]);
    expect(a.subscriptions.size).toBe(0);
  });

  it('ending a subscription replaced since leaves the newer one in place', () => {
    const clients = new PushClients();
    const a = fakeClient('ann').client;
    clients.opened(a);
    const first = subscribe(clients, a, 'c1');
    const second = subscribe(clients, a, 'c1');
    first.feed.end();
    expect(a.subscriptions.get('c1')).toBe(second);
    expect(clients.inConversation('c1')).toEqual([a]);
    second.feed.end();
    expect(clients.inConversation('c1')).toEqual([]);
  });
});
