/**
 * This node's one follower of the event log, from its head: what just happened, for what
 * this node keeps in memory. The push gateway pushes conversation events to its sockets (and
 * receipts and contact events to their users' own channels), and
 * a revoked session stops authenticating here at once (identity's session cache). Not a
 * projection: nothing is stored, and a restart starts from the head again; what a client
 * missed meanwhile it gets by catching up.
 */
import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { Checkpoint, EventStore, RecordedEvent } from '@herald/event-store';
import { idOfStream, streamPrefixOf } from '@herald/events';
import { IdentityService } from '@herald/identity';
import { JsonLogger } from '@herald/nest';
import { EVENT_STORE } from './tokens.js';

export type LiveListener = (event: RecordedEvent) => void;

@Injectable()
export class LiveEvents implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly listeners: LiveListener[] = [];
  private readonly following = new AbortController();
  private follower: Promise<void> | undefined;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    identity: IdentityService,
    private readonly logger: JsonLogger,
  ) {
    this.on((event) => {
      const sessionId = event.type === 'SessionRevoked' ? idOfStream('session', event.streamId) : undefined;
      if (sessionId !== undefined) identity.sessionEnded(sessionId);
    });
  }

  /** Calls `listener` with every conversation, session, receipts and contact event from now on, in log order. */
  on(listener: LiveListener): void {
    this.listeners.push(listener);
  }

  async onApplicationBootstrap(): Promise<void> {
    const from = await this.store.headCheckpoint();
    this.follower = this.follow(from);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.following.abort();
    await this.follower;
  }

  private dispatch(event: RecordedEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        // One listener's trouble with one event must not stop the others, nor the follower.
        this.logger.emit('error', error, 'LiveEvents', undefined, { eventId: event.eventId });
      }
    }
  }

  private async follow(from: Checkpoint): Promise<void> {
    const signal = this.following.signal;
    while (!signal.aborted) {
      try {
        for await (const page of this.store.subscribeToAll({
          from,
          limit: 1000,
          signal,
          filter: {
            streamPrefixes: [
              streamPrefixOf('conversation'),
              streamPrefixOf('session'),
              streamPrefixOf('receipts'),
              streamPrefixOf('contact'),
            ],
          },
        })) {
          for (const event of page.events) this.dispatch(event);
          from = page.checkpoint;
        }
      } catch (error) {
        if (signal.aborted) return;
        this.logger.emit(
          'warn',
          `live events: ${error instanceof Error ? error.message : String(error)}; retrying`,
          'LiveEvents',
        );
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }
}
