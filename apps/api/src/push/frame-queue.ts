/**
 * One client's incoming frames, waiting to be handled: the backpressure on what a client
 * sends. Frames are handled one at a time in the order sent (a typing sent right after a
 * sync finds the subscription; a presence frame's answer never follows a later one's), with
 * a turn of the event loop between two, so a socket's backlog is not handled in one go
 * while other users' requests wait. At `max` frames waiting the socket is not read until
 * they are (TCP slows the client down), and frames it had sent already are dropped, answered
 * once a pause. Over a rate limit the socket is paused until the limit allows again, and
 * frames read meanwhile are dropped unanswered.
 *
 * No socket inside: what can be paused comes in, so the queue is unit-tested alone.
 */
import { setImmediate as turn } from 'node:timers/promises';

/** What the queue slows down: the socket's reading. */
export interface Pausable {
  pause(): void;
  resume(): void;
}

export interface FrameQueueOptions<F> {
  readonly socket: Pausable;
  /** Frames waiting at which the socket is not read any more. */
  readonly max: number;
  /** Handles one frame; the next waits until it has settled. */
  readonly handle: (frame: F) => Promise<void>;
  /** `max` frames are waiting and more were read: called once a pause, to answer the client. */
  readonly overflow: () => void;
  /** A frame's handling threw: the queue goes on. */
  readonly failed: (error: unknown) => void;
  readonly now?: () => number;
}

export class FrameQueue<F> {
  /** Frames received and not handled yet. */
  private waiting = 0;
  /** Frames past `max` are being dropped (answered once). */
  private dropping = false;
  /** Over a rate limit until then: the socket is not read, and frames it had sent are dropped unanswered. */
  private limitedUntil = 0;
  /** The last frame's handling: the next one starts after it. */
  private handling: Promise<void> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly options: FrameQueueOptions<F>) {
    this.now = options.now ?? Date.now;
  }

  /** Whether the client is over a rate limit now. */
  get limited(): boolean {
    return this.now() < this.limitedUntil;
  }

  /** A frame read from the socket. */
  push(frame: F): void {
    // Read before the socket was paused, while the client is over a limit: dropped unread
    // (the answer saying when to come back was sent once).
    if (this.limited) return;
    const { max, socket } = this.options;
    if (this.waiting >= max) {
      // Once per pause: a backlog read in one go is not answered frame by frame.
      if (this.dropping) return;
      this.dropping = true;
      return this.options.overflow();
    }
    this.waiting++;
    if (this.waiting === max) socket.pause();
    this.handling = this.handling
      .then(() => turn())
      .then(() => (this.limited ? undefined : this.options.handle(frame)))
      .catch((error: unknown) => this.options.failed(error))
      .finally(() => {
        this.waiting--;
        if (this.waiting === 0 && !this.limited) {
          this.dropping = false;
          socket.resume();
        }
      });
  }

  /**
   * The client went over a rate limit: the socket is not read for `ms` (what the client sends
   * meanwhile waits in TCP), so a flood costs neither a parse nor an answer per frame.
   * False when it is paused already: the client was told once.
   */
  pauseFor(ms: number): boolean {
    const now = this.now();
    if (now < this.limitedUntil) return false;
    this.limitedUntil = now + ms;
    this.options.socket.pause();
    setTimeout(() => {
      if (this.waiting < this.options.max) this.options.socket.resume();
    }, ms).unref();
    return true;
  }

  /** Resolves once every frame received so far is handled (for tests). */
  async drained(): Promise<void> {
    let last: Promise<void>;
    do {
      last = this.handling;
      await last;
    } while (last !== this.handling);
  }
}
