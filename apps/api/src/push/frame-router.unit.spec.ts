import { RateLimiter } from '@herald/nest';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { FrameRouter } from './frame-router.js';
import type { RawFrame } from './push-client.js';
import { fakeClient } from './push.testing.js';

const ME = '5f0c7a52-8a3b-4d1e-9c6f-3e2d1b0a9f87';
/** The n-th conversation id. */
const conversation = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/**
 * A router over a user rate limit of `burst` tokens (refilled too slowly to matter) and
 * handlers that record what they were given; `member` says which conversations a sync may
 * subscribe to. `charged` is each take's cost, `sent` what the socket received.
 */
function routerOf(burst: number, member: (conversationId: string) => boolean = () => true) {
  const limiter = new RateLimiter(0.001, burst);
  const charged: number[] = [];
  const handled: string[] = [];
  const logged: string[] = [];
  const acted: string[] = [];
  const router = new FrameRouter({
    acted: (userId) => acted.push(userId),
    limits: {
      perUser: {
        take: (key, now, cost = 1) => {
          charged.push(cost);
          limiter.take(key, now, cost);
        },
      },
    },
    logger: { emit: (_level, message) => logged.push(String(message)) },
    handshake: { reauthenticate: (_, token) => Promise.resolve(void handled.push(`auth ${token}`)) },
    subscriptions: {
      subscribe: (_, conversationId) => {
        handled.push(`sync ${conversationId}`);
        if (conversationId === conversation(666)) return Promise.reject(new Error('store unreachable'));
        return Promise.resolve(member(conversationId));
      },
    },
    typing: { typed: (_, conversationId) => Promise.resolve(void handled.push(`typing ${conversationId}`)) },
    userChannel: { follow: (_, seq) => Promise.resolve(void handled.push(`syncUser ${seq}`)) },
    presence: { watch: (_, userIds) => Promise.resolve(void handled.push(`presence ${userIds.length}`)) },
  });
  const { client, ws, received: sent } = fakeClient(ME, { sessionId: 's', handling: router });
  const receive = (frame: object | string, isBinary = false): Promise<void> => {
    const raw: RawFrame = { data: Buffer.from(typeof frame === 'string' ? frame : JSON.stringify(frame)), isBinary };
    return router.handle(client, raw);
  };
  const sync = (count: number) =>
    receive({
      type: 'sync',
      conversations: Object.fromEntries(Array.from({ length: count }, (_, i) => [conversation(i), 0])),
    });
  return { receive, sync, charged, handled, logged, sent, client, ws, acted };
}

describe('client frames: charged, parsed, routed', () => {
  it('each frame type goes to its handler', async () => {
    const { receive, handled } = routerOf(100);
    await receive({ type: 'sync', conversations: { [conversation(1)]: 3 } });
    await receive({ type: 'auth', accessToken: 't' });
    await receive({ type: 'typing', conversationId: conversation(1) });
    await receive({ type: 'presence', userIds: [ME] });
    expect(handled).toEqual([`sync ${conversation(1)}`, 'auth t', `typing ${conversation(1)}`, 'presence 1']);
  });

  it('every frame is charged before it is parsed, one token and one per 16 KiB; junk is answered PUSH.INVALID_FRAME', async () => {
    const { receive, charged, sent, handled } = routerOf(100);
    await receive('not json');
    await receive('x'.repeat(40 * 1024));
    await receive('{"type":"auth"}', true);
    expect(charged).toEqual([1, 3, 1]);
    expect(sent.map((f) => f.code)).toEqual(['PUSH.INVALID_FRAME', 'PUSH.INVALID_FRAME', 'PUSH.INVALID_FRAME']);
    expect(handled).toEqual([]);
  });

  it('past the user rate limit the frame is dropped, answered PUSH.RATE_LIMITED once with retryAfterSeconds, and the socket is paused', async () => {
    const { receive, sent, handled, client } = routerOf(1);
    await receive({ type: 'typing', conversationId: conversation(1) });
    await receive({ type: 'typing', conversationId: conversation(1) });
    await receive({ type: 'typing', conversationId: conversation(1) });
    expect(handled).toEqual([`typing ${conversation(1)}`]);
    expect(sent.map((f) => f.code)).toEqual(['PUSH.RATE_LIMITED']);
    expect(sent[0]?.retryAfterSeconds).toBeGreaterThan(0);
    expect(client.frames.limited).toBe(true);
  });

  it('a sync naming more than 1,000 conversations is charged for all of them and answered PUSH.TOO_MANY, syncing none', async () => {
    const { sync, charged, sent, handled } = routerOf(100);
    await sync(1_001);
    expect(charged.reduce((a, b) => a + b)).toBe(11);
    expect(sent.map((f) => f.code)).toEqual(['PUSH.TOO_MANY']);
    expect(handled).toEqual([]);
  });

  it('every 10 conversations a sync names that are refused cost one more token; past the limit the rest of the sync is not done', async () => {
    const { sync, handled, sent } = routerOf(3, () => false);
    // The frame (about 2 KB) costs 1 token; refusals 10 and 20 one each; the 30th finds none left.
    await sync(50);
    expect(handled).toHaveLength(30);
    expect(sent.map((f) => f.code)).toEqual(['PUSH.RATE_LIMITED']);
  });

  it('a presence frame is counted by its distinct users: more than 200 is PUSH.TOO_MANY', async () => {
    const { receive, sent, handled } = routerOf(100);
    await receive({ type: 'presence', userIds: [ME, ME.toUpperCase(), ME] });
    await receive({ type: 'presence', userIds: Array.from({ length: 201 }, (_, i) => conversation(i)) });
    expect(handled).toEqual(['presence 1']);
    expect(sent.map((f) => f.code)).toEqual(['PUSH.TOO_MANY']);
  });

  it('a handler that fails (the database, the store) is answered PUSH.UNAVAILABLE and logged; the next frame is handled', async () => {
    const { receive, sent, logged, handled } = routerOf(100);
    await receive({ type: 'sync', conversations: { [conversation(666)]: 0 } });
    await receive({ type: 'typing', conversationId: conversation(1) });
    expect(sent.map((f) => f.code)).toEqual(['PUSH.UNAVAILABLE']);
    expect(logged).toEqual(['push: sync failed: store unreachable']);
    expect(handled.at(-1)).toBe(`typing ${conversation(1)}`);
  });

  it('a frame that waited for a socket closed since is dropped, uncharged', async () => {
    const { receive, charged, handled, ws } = routerOf(100);
    ws.readyState = WebSocket.CLOSED;
    await receive({ type: 'typing', conversationId: conversation(1) });
    expect(charged).toEqual([]);
    expect(handled).toEqual([]);
  });
});

describe('client frames: what counts as the user acting (fanout.ts: active first)', () => {
  it('typing, presence and syncUser do; sync and auth, which clients send by themselves, do not', async () => {
    const { receive, acted } = routerOf(100);
    await receive({ type: 'sync', conversations: { [conversation(1)]: 3 } });
    await receive({ type: 'auth', accessToken: 'token' });
    expect(acted).toEqual([]);
    await receive({ type: 'typing', conversationId: conversation(1) });
    await receive({ type: 'presence', userIds: [ME] });
    await receive({ type: 'syncUser', seq: 0 });
    expect(acted).toEqual([ME, ME, ME]);
  });
});
