/**
 * The command side's moves on a stream, shared by every context: fold a stream into a
 * state (through the catalogue, so old versions arrive upcast and every event is checked),
 * append what a decider decided with who/when/why metadata, and retry a lost race.
 */
import { definitionOf, readEvent, type CatalogueEvent } from '@herald/events';
import {
  StreamNotFound,
  WrongExpectedRevision,
  type AppendResult,
  type Checkpoint,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
} from '@herald/event-store';
import { randomUUID } from 'node:crypto';

/** Who asks, and the request it belongs to. */
export interface CommandContext {
  readonly actorId: string;
  readonly correlationId: string;
  /** Defaults to the correlation id (the request caused the events). */
  readonly causationId?: string;
  readonly clientMessageId?: string;
  /** The W3C trace context of the request, recorded as given. */
  readonly traceparent?: string;
  readonly now: Date;
}

export interface Folded<S> {
  readonly state: S;
  /** The expected revision for the next append: `no_stream` when the stream is new. */
  readonly revision: number | 'no_stream';
}

/** Where and when an event was recorded, for the folds that need it. */
export interface RecordedAt {
  /** Its stream revision. */
  readonly seq: number;
  readonly occurredAt: string;
  readonly clientMessageId?: string;
}

export type Evolve<S, E> = (state: S, event: E, recorded: RecordedAt) => S;

/**
 * Reads a stream and folds it; a missing stream gives the initial state. Given an earlier
 * result (`since`), reads only what came after it.
 */
export async function fold<S, E extends CatalogueEvent>(
  store: EventStore,
  streamId: string,
  initial: S,
  evolve: Evolve<S, E>,
  since?: Folded<S>,
): Promise<Folded<S>> {
  let state = since?.state ?? initial;
  let revision: number | 'no_stream' = since?.revision ?? 'no_stream';
  let from = revision === 'no_stream' ? 0 : revision + 1;
  for (;;) {
    let page;
    try {
      page = await store.readStream(streamId, { from, limit: 1000 });
    } catch (error) {
      if (error instanceof StreamNotFound) return { state, revision };
      throw error;
    }
    for (const recorded of page) {
      const { data } = readEvent(recorded);
      const clientMessageId = recorded.metadata.clientMessageId;
      state = evolve(state, { type: recorded.type, data } as E, {
        seq: recorded.streamRevision,
        occurredAt: recorded.metadata.occurredAt,
        ...(clientMessageId !== undefined ? { clientMessageId } : {}),
      });
      revision = recorded.streamRevision;
    }
    if (page.length < 1000) return { state, revision };
    from = page[page.length - 1]!.streamRevision + 1;
  }
}

/**
 * The events as the store takes them: fresh ids, the type's current version, metadata.
 * Each is checked against its schema on the way in (a failure is a bug, not bad input).
 */
export function toNewEvents(events: readonly CatalogueEvent[], context: CommandContext): NewEvent[] {
  return events.map((event) => {
    const schemaVersion = definitionOf(event.type)!.version;
    readEvent({ type: event.type, schemaVersion, data: event.data });
    return {
      eventId: randomUUID(),
      type: event.type,
      schemaVersion,
      data: event.data,
      metadata: {
        actorId: context.actorId,
        correlationId: context.correlationId,
        causationId: context.causationId ?? context.correlationId,
        occurredAt: context.now.toISOString(),
        ...(context.clientMessageId !== undefined ? { clientMessageId: context.clientMessageId } : {}),
        ...(context.traceparent !== undefined ? { traceparent: context.traceparent } : {}),
      },
    };
  });
}

export function appendDecided(
  store: EventStore,
  streamId: string,
  events: readonly CatalogueEvent[],
  expected: ExpectedRevision,
  context: CommandContext,
): Promise<AppendResult> {
  return store.append(streamId, toNewEvents(events, context), expected);
}

/**
 * Attempts a command gets against concurrent writers of its stream, the first included.
 * Each lost race costs one fold of what the winner appended; twenty covers a burst of
 * writers on one stream (a user's own stream, a busy group) without looping forever.
 */
export const MAX_ATTEMPTS = 20;

/**
 * Runs a command (fold, decide, append at the expected revision) and, when another writer
 * appended to the stream first (`WrongExpectedRevision`), runs it again: it folds what the
 * winner wrote and decides anew, so the outcome is what it would have been in sequence.
 * The one place every context retries a lost race; a bounded number of attempts, with
 * growing random pauses so racing writers spread out. Any other error goes through at once.
 */
export async function retryOnConflict<T>(run: (attempt: number) => Promise<T>, maxAttempts = MAX_ATTEMPTS): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run(attempt);
    } catch (error) {
      if (!(error instanceof WrongExpectedRevision) || attempt >= maxAttempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
    }
  }
}

/**
 * Answers for withheld commands (a blocked user's: decided, answered, not written) that a
 * client cannot tell from a write's: a real checkpoint (the log's head, which a query with
 * `?after=` reaches at once, as after the write), in about the time an append takes (a
 * moving average of this context's appends).
 */
export class WithheldAnswers {
  private appendMs = 5;

  constructor(private readonly store: EventStore) {}

  /** Runs an append and learns how long appends take. */
  async append<T>(write: () => Promise<T>): Promise<T> {
    const began = performance.now();
    const result = await write();
    this.appendMs = 0.9 * this.appendMs + 0.1 * (performance.now() - began);
    return result;
  }

  /**
   * The checkpoint a withheld command answers, about an append's time after `began` (when
   * a write would have started its append; by default, now).
   */
  async checkpoint(began = performance.now()): Promise<Checkpoint> {
    const checkpoint = await this.store.headCheckpoint();
    const rest = this.appendMs - (performance.now() - began);
    if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
    return checkpoint;
  }
}
