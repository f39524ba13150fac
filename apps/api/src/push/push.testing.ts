/**
 * Test helpers of the push unit specs (not built into dist): a socket that records what it
 * was sent, the PushClient around it, and a conversation feed that does nothing. Every spec
 * of a part that talks to sockets (the client, frame router, heartbeat, subscriptions,
 * typing, presence) needs them, so they are written once here rather than once a spec.
 */
import { EventEmitter } from 'node:events';
import { expect } from 'vitest';
import { WebSocket } from 'ws';
import { ConversationFeed } from './conversation-feed.js';
import { PushClient, type FrameHandling } from './push-client.js';

/**
 * What a ws socket is to a PushClient, recorded: the frames sent (parsed back from JSON),
 * whether it is paused, its closes, pings and terminations. Tests set `readyState` and
 * `bufferedAmount` to play a closed or slow socket; `close` makes it CLOSING and `terminate`
 * CLOSED, as the ws library's do. An EventEmitter, so a test can emit the peer's `pong`.
 */
export function fakeSocket() {
  // Any state, not just OPEN: tests, `close` and `terminate` change it.
  const readyState: number = WebSocket.OPEN;
  const ws = Object.assign(new EventEmitter(), {
    readyState,
    bufferedAmount: 0,
    paused: false,
    /** The frames sent, in order: what the peer receives. */
    received: [] as Record<string, unknown>[],
    closes: [] as [code: number, reason: string][],
    pings: 0,
    terminated: 0,
    send: (data: Buffer, options: { binary: boolean }) => {
      // A PushClient sends JSON as text frames only.
      expect(options.binary).toBe(false);
      ws.received.push(JSON.parse(data.toString()) as Record<string, unknown>);
    },
    close: (code: number, reason: string) => {
      ws.closes.push([code, reason]);
      ws.readyState = WebSocket.CLOSING;
    },
    terminate: () => {
      ws.terminated++;
      ws.readyState = WebSocket.CLOSED;
    },
    ping: () => ws.pings++,
    pause: () => (ws.paused = true),
    resume: () => (ws.paused = false),
  });
  return ws;
}

/**
 * A PushClient of `userId` over a fakeSocket, in the session `session of <userId>` unless
 * told; its frames go to `handling` (by default handled as nothing, and no failure seen).
 * `received` is the socket's record of what it was sent.
 */
export function fakeClient(userId: string, options: { sessionId?: string; handling?: FrameHandling } = {}) {
  const ws = fakeSocket();
  const client = new PushClient(
    ws as unknown as WebSocket,
    { ip: undefined, correlationId: `socket of ${userId}` },
    { userId, sessionId: options.sessionId ?? `session of ${userId}` },
    options.handling ?? { handle: () => Promise.resolve(), failed: () => undefined },
  );
  return { client, ws, received: ws.received };
}

/**
 * A feed of `userId`'s socket in `conversationId` that reads, sends and waits for nothing:
 * for a subscription whose catch-up is not under test. `ended` is called when it ends.
 */
export function idleFeed(options: { conversationId: string; userId: string; ended?: () => void }): ConversationFeed {
  return new ConversationFeed({
    conversationId: options.conversationId,
    userId: options.userId,
    claimed: 0,
    head: 0,
    ports: {
      open: () => true,
      paced: () => Promise.resolve(),
      slot: () => Promise.resolve(() => undefined),
      read: () => Promise.resolve([]),
      charge: () => undefined,
      write: () => undefined,
      send: () => undefined,
      ended: options.ended ?? (() => undefined),
    },
  });
}
