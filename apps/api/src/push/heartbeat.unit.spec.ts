import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Heartbeat } from './heartbeat.js';
import { PushClients } from './push-client.js';
import { fakeClient } from './push.testing.js';

const INTERVAL = 30_000;

/** A node's sockets under a heartbeat, as the gateway wires them; each socket counts its pings and terminations. */
function node() {
  const clients = new PushClients();
  const heartbeat = new Heartbeat(() => clients.all(), INTERVAL);
  /** Opens a socket of `userId`; `pong()` is the peer answering a ping. */
  const socket = (userId: string) => {
    const { ws, client } = fakeClient(userId);
    clients.opened(client);
    heartbeat.watch(client);
    return { ws, client, pong: () => ws.emit('pong') };
  };
  return { heartbeat, clients, socket };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('the WebSocket heartbeat', () => {
  it('pings every socket once an interval, not before', () => {
    const { heartbeat, socket } = node();
    const ann = socket('ann');
    const bob = socket('bob');
    heartbeat.start();
    vi.advanceTimersByTime(INTERVAL - 1);
    expect([ann.ws.pings, bob.ws.pings]).toEqual([0, 0]);
    vi.advanceTimersByTime(1);
    expect([ann.ws.pings, bob.ws.pings]).toEqual([1, 1]);
    heartbeat.stop();
  });

  it('a socket that answers each ping with a pong is kept, and pinged each interval', () => {
    const { heartbeat, socket } = node();
    const ann = socket('ann');
    heartbeat.start();
    for (let beat = 0; beat < 5; beat++) {
      vi.advanceTimersByTime(INTERVAL);
      ann.pong();
    }
    expect(ann.ws.pings).toBe(5);
    expect(ann.ws.terminated).toBe(0);
    heartbeat.stop();
  });

  it('a socket that did not answer the last ping is terminated at the next beat, and not pinged again', () => {
    const { heartbeat, socket } = node();
    const ann = socket('ann');
    const bob = socket('bob');
    heartbeat.start();
    vi.advanceTimersByTime(INTERVAL);
    bob.pong();
    vi.advanceTimersByTime(INTERVAL);
    expect(ann.ws.terminated).toBe(1);
    expect(ann.ws.pings).toBe(1);
    expect(bob.ws.terminated).toBe(0);
    expect(bob.ws.pings).toBe(2);
    heartbeat.stop();
  });

  it('a peer gone silent is dropped within two intervals of its last pong', () => {
    const { heartbeat, socket } = node();
    const ann = socket('ann');
    heartbeat.start();
    vi.advanceTimersByTime(INTERVAL);
    ann.pong();
    vi.advanceTimersByTime(INTERVAL);
    expect(ann.ws.terminated).toBe(0);
    vi.advanceTimersByTime(INTERVAL);
    expect(ann.ws.terminated).toBe(1);
    heartbeat.stop();
  });

  it('a pong arriving any time before the next beat keeps the socket, however late', () => {
    const { heartbeat, socket } = node();
    const ann = socket('ann');
    heartbeat.start();
    vi.advanceTimersByTime(INTERVAL);
    vi.advanceTimersByTime(INTERVAL - 1);
    ann.pong();
    vi.advanceTimersByTime(1);
    expect(ann.ws.terminated).toBe(0);
    expect(ann.ws.pings).toBe(2);
    heartbeat.stop();
  });

  it('reads the sockets at each beat: one opened after the start is pinged, one closed is not', () => {
    const { heartbeat, socket, clients } = node();
    const ann = socket('ann');
    heartbeat.start();
    vi.advanceTimersByTime(INTERVAL);
    const bob = socket('bob');
    clients.closed(ann.client);
    vi.advanceTimersByTime(INTERVAL);
    expect(bob.ws.pings).toBe(1);
    expect(ann.ws.pings).toBe(1);
    expect(ann.ws.terminated).toBe(0);
    heartbeat.stop();
  });

  it('once stopped, no socket is pinged or terminated', () => {
    const { heartbeat, socket } = node();
    const ann = socket('ann');
    heartbeat.start();
    vi.advanceTimersByTime(INTERVAL);
    heartbeat.stop();
    vi.advanceTimersByTime(10 * INTERVAL);
    expect(ann.ws.pings).toBe(1);
    expect(ann.ws.terminated).toBe(0);
  });

  it('one timer and one pong listener for every socket: an idle socket has nothing of its own between beats', () => {
    const { heartbeat, socket } = node();
    const sockets = Array.from({ length: 100 }, (_, i) => socket(`user${i}`));
    heartbeat.start();
    expect(vi.getTimerCount()).toBe(1);
    const [first] = sockets[0]!.ws.listeners('pong');
    expect(sockets.every(({ ws }) => ws.listeners('pong').length === 1 && ws.listeners('pong')[0] === first)).toBe(
      true,
    );
    // Each pong still marks its own socket alive: the one that did not answer is dropped.
    vi.advanceTimersByTime(INTERVAL);
    for (const s of sockets.slice(1)) s.pong();
    vi.advanceTimersByTime(INTERVAL);
    expect(sockets.map(({ ws }) => ws.terminated)).toEqual([1, ...new Array<number>(99).fill(0)]);
    expect(vi.getTimerCount()).toBe(1);
    heartbeat.stop();
  });
});
