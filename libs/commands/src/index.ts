/**
 * The command side's two moves, shared by every context: fold a stream into a state
 * (through the catalogue, so old versions arrive upcast and every event is checked), and
 * append what a decider decided, with who/when/why metadata.
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
import { createHash, createHmac, randomUUID } from 'node:crypto';

/** Who asks, and the request it belongs to. */
export interface CommandContext {
  readonly actorId: string;
  readonly correlationId: string;
  /** Defaults to the correlation id (the request caused the events). */
  readonly causationId?: string;
  readonly clientMessageId?: string;
  readonly now: Date;
}

export interface Folded<S> {
  readonly state: S;
  /** The expected revision for the next append: `no_stream` when the stream is new. */
  readonly revision: number | 'no_stream';
}

/**
 * Reads a stream and folds it; a missing stream gives the initial state. Given an earlier
 * result (`since`), reads only what came after it.
 */
export async function fold<S, E extends CatalogueEvent>(
  store: EventStore,
  streamId: string,
  initial: S,
  evolve: (state: S, event: E, recorded: { seq: number; occurredAt: string; clientMessageId?: string }) => S,
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

  /** The checkpoint a withheld command answers, after about an append's time. */
  async checkpoint(): Promise<Checkpoint> {
    const began = performance.now();
    const checkpoint = await this.store.headCheckpoint();
    const rest = this.appendMs - (performance.now() - began);
    if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
    return checkpoint;
  }
}

/**
 * A UUID derived from `input` with a secret key (HMAC-SHA-256) and shaped as a random one:
 * version 4 and the RFC 4122 variant, as `randomUUID()` gives. For ids a client must not
 * tell from random ones (a withheld send's message id: a version-8 id, or one anybody could
 * recompute from the request, would reveal the block), while the same input still gives the
 * same id on every instance sharing the key (a retry is answered the same id). 122 bits of
 * the MAC are kept.
 */
export function keyedRandomLookingId(key: string | Uint8Array, input: string): string {
  const hex = createHmac('sha256', key).update(input).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** One id for a pair of users, whichever comes first (a version-8 UUID from their ids). */
export function pairId(a: string, b: string): string {
  const hex = createHash('sha256').update([a, b].sort().join(':')).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
