/**
 * What the audit API does besides answering: it records every read in the auditor's
 * `audit-<userId>` stream (AuditRead) before answering it, so a read that could not be
 * recorded is not answered; and it folds a conversation's stream up to a point for the
 * as-of view (projections/as-of.ts).
 */
import { recordAuditRead } from '@herald/identity';
import {
  StreamNotFound,
  UnsupportedRead,
  type Checkpoint,
  type EventStore,
  type RecordedEvent,
} from '@herald/event-store';
import { streamIdOf } from '@herald/events';
import { RateLimited, RequestInvalid } from '@herald/nest';
import { conversationAsOf, type ConversationAsOf } from '@herald/projections';
import { ConversationError } from '@herald/conversations';
import type { DataSource } from 'typeorm';

/** The most events an as-of read folds (each read folds the stream from its start). */
export const AS_OF_MAX_EVENTS = 100_000;
/**
 * As-of reads one auditor may have folding at once on an instance: each holds up to
 * AS_OF_MAX_EVENTS events in memory and a connection of the read models' pool for its
 * transaction, so a burst of them could take the pool the live reads are served from.
 */
export const AS_OF_CONCURRENT_PER_AUDITOR = 2;

/** Where in a conversation's stream: after the event of this seq, or the last event at or before a checkpoint or time. */
export type AsOfPoint = { readonly seq: number } | { readonly checkpoint: Checkpoint } | { readonly at: Date };

export interface AsOfAnswer extends ConversationAsOf {
  /** The last event folded (null: the point is before the conversation began). */
  readonly asOf: { readonly seq: number; readonly checkpoint: string; readonly recordedAt: string } | null;
}

const READ_PAGE = 1_000;

export class AuditService {
  /** As-of reads folding now, by auditor. */
  private readonly folding = new Map<string, number>();

  constructor(
    private readonly store: EventStore,
    private readonly dataSource: DataSource,
  ) {}

  /**
   * Takes one of the auditor's as-of slots, or refuses (429, retry in a second) when they
   * have AS_OF_CONCURRENT_PER_AUDITOR folding already; call the returned function when done.
   */
  foldSlot(auditorId: string): () => void {
    const held = this.folding.get(auditorId) ?? 0;
    if (held >= AS_OF_CONCURRENT_PER_AUDITOR) throw new RateLimited(1);
    this.folding.set(auditorId, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.folding.get(auditorId) ?? 1) - 1;
      if (left === 0) this.folding.delete(auditorId);
      else this.folding.set(auditorId, left);
    };
  }

  /** Records an audit read; throws (and the read is not answered) when it cannot be written. */
  async record(
    auditorId: string,
    read: string,
    params: Record<string, string>,
    correlation: { correlationId: string; traceparent?: string },
  ): Promise<void> {
    await recordAuditRead(this.store, auditorId, read, params, { actorId: auditorId, ...correlation, now: new Date() });
  }

  async conversationAsOf(
    conversationId: string,
    point: AsOfPoint,
    page: { before?: number; after?: number; limit: number },
  ): Promise<AsOfAnswer> {
    const streamId = streamIdOf('conversation', conversationId);
    const events: RecordedEvent[] = [];
    let from = 0;
    for (;;) {
      let read: RecordedEvent[];
      try {
        read = await this.store.readStream(streamId, { from, limit: READ_PAGE });
      } catch (error) {
        if (error instanceof StreamNotFound)
          throw new ConversationError('CONVERSATION.NOT_FOUND', 'No such conversation');
        throw error;
      }
      // A fold that skipped events the store no longer serves (retention) would answer a state
      // that never was: refused instead.
      if (read[0] !== undefined && read[0].streamRevision !== from) {
        throw new UnsupportedRead(
          `The event store no longer serves revisions ${from} to ${read[0].streamRevision - 1} of ${streamId}: ` +
            'the conversation cannot be folded from its start',
        );
      }
      // The stream's prefix up to the point: it ends at the first event past it.
      const past = read.findIndex((e) => !within(e, point));
      events.push(...(past === -1 ? read : read.slice(0, past)));
      if (events.length > AS_OF_MAX_EVENTS) {
        throw new RequestInvalid(`An as-of read folds at most ${AS_OF_MAX_EVENTS} events of the conversation`, [
          { path: 'seq', problem: `more than ${AS_OF_MAX_EVENTS} events before this point` },
        ]);
      }
      if (past !== -1 || read.length < READ_PAGE) break;
      from = read[read.length - 1]!.streamRevision + 1;
    }
    const answer = await conversationAsOf(this.dataSource, conversationId, events, page);
    const last = events[events.length - 1];
    return {
      asOf: last
        ? { seq: last.streamRevision, checkpoint: last.globalPosition, recordedAt: last.recordedAt.toISOString() }
        : null,
      ...answer,
    };
  }
}

function within(event: RecordedEvent, point: AsOfPoint): boolean {
  if ('seq' in point) return event.streamRevision <= point.seq;
  if ('checkpoint' in point) return event.globalPosition <= point.checkpoint;
  return event.recordedAt.getTime() <= point.at.getTime();
}
