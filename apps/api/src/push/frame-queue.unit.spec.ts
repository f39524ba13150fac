import { afterEach, describe, expect, it, vi } from 'vitest';
import { FrameQueue } from './frame-queue.js';

/** A queue of numbered frames over a socket that records whether it is read; `log` is what happened, in order. */
function queueOf(max: number, handle: (frame: number) => Promise<void> = () => Promise.resolve()) {
  const log: string[] = [];
  let clock = 0;
  const socket = { paused: false, pause: () => (socket.paused = true), resume: () => (socket.paused = false) };
  const queue = new FrameQueue<number>(
    {
      socket,
      handle: async (frame) => {
        log.push(`start ${frame}`);
        await handle(frame);
        log.push(`end ${frame}`);
      },
      overflow: () => log.push('overflow'),
      failed: (error) => log.push(`failed: ${error instanceof Error ? error.message : String(error)}`),
    },
    max,
    () => clock,
  );
  return { queue, log, socket, tick: (ms: number) => (clock += ms) };
}

const later = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));

afterEach(() => vi.useRealTimers());

describe('a client frame queue', () => {
  it('handles frames one at a time, in the order received, each after the last has ended', async () => {
    const { queue, log } = queueOf(10, later);
    for (const frame of [1, 2, 3]) queue.push(frame);
    await queue.drained();
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
  });

  it('lets other work run between two frames', async () => {
    const { queue, log } = queueOf(10, (frame) => {
      if (frame === 1) setImmediate(() => log.push('other work'));
      return Promise.resolve();
    });
    queue.push(1);
    queue.push(2);
    await queue.drained();
    expect(log).toEqual(['start 1', 'end 1', 'other work', 'start 2', 'end 2']);
  });

  it('at the maximum waiting the socket is not read, and is read again once they are handled', async () => {
    const { queue, socket } = queueOf(3);
    queue.push(1);
    queue.push(2);
    expect(socket.paused).toBe(false);
    queue.push(3);
    expect(socket.paused).toBe(true);
    await queue.drained();
    expect(socket.paused).toBe(false);
  });

  it('frames read past the maximum are dropped and answered once a pause', async () => {
    const { queue, log } = queueOf(2);
    for (const frame of [1, 2, 3, 4, 5]) queue.push(frame);
    await queue.drained();
    expect(log).toEqual(['overflow', 'start 1', 'end 1', 'start 2', 'end 2']);
    for (const frame of [6, 7, 8]) queue.push(frame);
    await queue.drained();
    expect(log.slice(5)).toEqual(['overflow', 'start 6', 'end 6', 'start 7', 'end 7']);
  });

  it('a frame whose handling fails is reported, and the next ones are handled', async () => {
    const { queue, log } = queueOf(10, (frame) =>
      frame === 1 ? Promise.reject(new Error('boom')) : Promise.resolve(),
    );
    queue.push(1);
    queue.push(2);
    await queue.drained();
    expect(log).toEqual(['start 1', 'failed: boom', 'start 2', 'end 2']);
  });

  it('over a rate limit the socket is not read until the limit allows again, and is told once', () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    const { queue, socket, tick } = queueOf(10);
    expect(queue.pauseFor(2_000)).toBe(true);
    expect(socket.paused).toBe(true);
    expect(queue.limited).toBe(true);
    tick(1_000);
    expect(queue.pauseFor(2_000)).toBe(false);
    tick(1_000);
    vi.advanceTimersByTime(2_000);
    expect(socket.paused).toBe(false);
    expect(queue.limited).toBe(false);
    expect(queue.pauseFor(2_000)).toBe(true);
  });

  it('frames read while over a rate limit are dropped unhandled, those waiting included', async () => {
    const { queue, log, tick } = queueOf(10, later);
    queue.push(1);
    queue.push(2);
    queue.pauseFor(1_000);
    queue.push(3);
    await queue.drained();
    expect(log).toEqual([]);
    tick(1_000);
    queue.push(4);
    await queue.drained();
    expect(log).toEqual(['start 4', 'end 4']);
  });
});
