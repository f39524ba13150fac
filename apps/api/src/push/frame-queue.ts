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

/**
 * Where a queue's frames go, and what it slows down: the socket's client itself (methods,
 * not closures, so a socket costs no function objects for its queue: ADR 037).
 */
export interface FrameSink<F> {
  /** What the queue pauses and resumes: the socket's reading. */
  readonly socket: Pausable;
  /** Handles one frame; the next waits until it has settled. */
  handle(frame: F): Promise<void>;
  /** `max` frames are waiting and more were read: called once a pause, to answer the client. */
  overflow(): void;
  /** A frame's handling threw: the queue goes on. */
  failed(error: unknown): void;
}

export class FrameQueue<F> {
  /** Frames received and not handled yet. */
  private waiting = 0;
  /** Frames past `max` are being dropped (answered once). */
  private dropping = false;
  /** Over a rate limit until then: the socket is not read, and frames it had sent are dropped unanswered. */
  private limitedUntil = 0;
  /** The last frame's handling, while one is: the next one starts after it. */
  private handling: Promise<void> | undefined;

  /** `max`: frames waiting at which the socket is not read any more. */
  constructor(
    private readonly sink: FrameSink<F>,
    private readonly max: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether the client is over a rate limit now. */
  get limited(): boolean {
    return this.now() < this.limitedUntil;
  }

  /** A frame read from the socket. */
  push(frame: F): void {
    // Read before the socket was paused, while the client is over a limit: dropped unread
    // (the answer saying when to come back was sent once).
    if (this.limited) return;
    const { max, sink } = this;
    if (this.waiting >= max) {
      // Once per pause: a backlog read in one go is not answered frame by frame.
      if (this.dropping) return;
      this.dropping = true;
      return sink.overflow();
    }
    this.waiting++;
    if (this.waiting === max) sink.socket.pause();
    const handling = (this.handling ?? Promise.resolve())
      .then(() => turn())
      .then(() => (this.limited ? undefined : sink.handle(frame)))
      .catch((error: unknown) => sink.failed(error))
      .finally(() => {
        this.waiting--;
        // Idle: the settled chain is let go, so an idle socket holds no promise.
        if (this.handling === handling) this.handling = undefined;
        if (this.waiting === 0 && !this.limited) {
          this.dropping = false;
          sink.socket.resume();
        }
      });
    this.handling = handling;
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
    this.sink.socket.pause();
    setTimeout(() => {
      if (this.waiting < this.max) this.sink.socket.resume();
    }, ms).unref();
    return true;
  }

  /** Resolves once every frame received so far is handled (for tests). */
  async drained(): Promise<void> {
    while (this.handling) await this.handling;
  }
}
