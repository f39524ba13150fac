/**
 * The EventStore port on EventStoreDB / KurrentDB (gRPC, `@eventstore/db-client`).
 * docs/adr/026-eventstoredb-adapter.md: supported servers, what the server decides and what
 * the adapter adds (idempotent retries' positions, duplicate ids at the expected place,
 * retention that keeps deleted history cut), the idempotency the port does not promise
 * here, and the hash chain each event carries in its metadata (computed against the revision
 * the append names to the server, so the server's optimistic check is what keeps a stream's
 * chain from forking). Every translation is a plain function in `mapping.ts`.
 */
import { ErrorType, isCommandError, WrongExpectedVersionError } from '@eventstore/db-client';
import { START, compareCheckpoints, type Checkpoint } from '../checkpoint.js';
import { EventStoreError, EventStoreUnavailable, StreamNotFound, WrongExpectedRevision } from '../errors.js';
import { cataloguePersonalFields } from '../integrity/catalogue-personal.js';
import { prepareEvents, type PersonalFields, type PreparedEvent } from '../integrity/chain.js';
import { auditLogFrom, readAuditStreamFrom } from '../audit-log.js';
import type {
  AppendResult,
  AuditLines,
  AuditLogQuery,
  AuditStreamPage,
  ChainedEvent,
  EventStore,
  ExpectedRevision,
  NewEvent,
  ReadAllOptions,
  ReadAllPage,
  ReadChainOptions,
  ReadStreamOptions,
  RecordedEvent,
  StreamInfo,
  StreamMetadata,
  StreamRevision,
  SubscribeOptions,
} from '../types.js';
import {
  assertReadCheckpoint,
  assertReadStreamOptions,
  assertStreamId,
  assertStreamMetadata,
  readChainWindow,
  readLimit,
  validateAppend,
} from '../validation.js';
import {
  chainFieldsOf,
  checkpointToPosition,
  expectedFirstRevision,
  fromEsdbCurrentRevision,
  fromEsdbEvent,
  fromEsdbStreamMetadata,
  isAfter,
  isHeraldEvent,
  judgeIdempotentAppend,
  judgeRecentRetry,
  judgeRefusedAppend,
  passesClientFilter,
  planFilter,
  positionToCheckpoint,
  toChainedEsdbEvents,
  toChainedEvent,
  toEsdbExpectedRevision,
  toEsdbStreamMetadata,
  toRevision,
  type ChainHead,
  type EsdbExpectedRevision,
  type EsdbPosition,
  type EsdbRecordedEvent,
  type FilterPlan,
  type PlacedEvent,
} from './mapping.js';
import { clientTransport, type EsdbTransport } from './transport.js';

export interface EventStoreDbEventStoreOptions {
  /** `esdb://host:2113?tls=false` (or `esdb+discover://` for a cluster). */
  readonly connectionString?: string;
  /** Instead of a connection string: the transport to use (unit tests give a fake). */
  readonly transport?: EsdbTransport;
  /** The personal fields of each event type (default: the catalogue's), as PostgresEventStore's option. */
  readonly personalFields?: PersonalFields;
}

/** A subscription buffers at most this many pages' worth of events before it pauses the server's stream. */
const BUFFERED_PAGES = 4;
/** Streams whose newest known (revision, hash) the adapter remembers, so an append at a known revision reads nothing first. */
const KNOWN_HEADS = 10_000;
/**
 * An append with `any`/`stream_exists` reads the stream's newest events with its head, as
 * many as it appends and this many more: a retry of it is recognised while at most this
 * many events were appended after it.
 */
export const RETRY_WINDOW = 32;
/** How often an `any`/`stream_exists` append tries again after losing a race to another writer. */
const MAX_ATTEMPTS = 30;
/** Scanning $all backwards for a predecessor the stream no longer serves: pages of this many of the stream's events. */
const HIDDEN_PAGE = 100;

export class EventStoreDbEventStore implements EventStore {
  private readonly transport: EsdbTransport;
  private readonly personalFields: PersonalFields;
  /** Streams' heads this process wrote or read (least recently used first). A revision's hash never changes. */
  private readonly heads = new Map<string, ChainHead>();
  private closed = false;

  constructor(options: EventStoreDbEventStoreOptions) {
    if (options.transport) this.transport = options.transport;
    else if (options.connectionString) this.transport = clientTransport(options.connectionString);
    else throw new Error('EventStoreDbEventStore needs a connectionString or a transport');
    this.personalFields = options.personalFields ?? cataloguePersonalFields;
  }

  /**
   * Every event is written with its chain link, computed from the hash of the event at the
   * revision the server is asked to check: a number or `no_stream` as given (the server
   * refuses the append if the stream moved, so a link can never be written after another
   * event than the one it was computed on); `any` and `stream_exists` as the revision just
   * read, again and again while other writers win the race. So two appenders can never
   * both extend the same event: no fork.
   */
  async append(
    streamId: string,
    events: readonly NewEvent[],
    expectedRevision: ExpectedRevision,
  ): Promise<AppendResult> {
    // Salts and content hashes need no stream state: computed once, whatever the attempts.
    const prepared = prepareEvents(validateAppend(streamId, events, expectedRevision), this.personalFields);
    this.assertOpen();
    if (expectedRevision === 'any' || expectedRevision === 'stream_exists') {
      return this.appendAtHead(streamId, events, prepared, expectedRevision);
    }
    const at = expectedRevision === 'no_stream' ? -1 : expectedRevision;
    let head: ChainHead | undefined = at < 0 ? { revision: -1, hash: null } : this.knownHead(streamId, at);
    if (!head) {
      const found = await this.headAt(streamId, at);
      // The stream has not reached the expected revision: nothing there to retry or extend.
      if (typeof found === 'number') {
        throw new WrongExpectedRevision(streamId, expectedRevision, found < 0 ? 'no_stream' : found);
      }
      head = found;
    }
    try {
      return await this.write(streamId, events, prepared, head, toEsdbExpectedRevision(expectedRevision));
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        throw await this.refused(streamId, events, expectedRevision, error);
      }
      throw error;
    }
  }

  /**
   * `any` / `stream_exists`: read the stream's newest events (its head, and a window in
   * which a retry of this append is recognised), then append against that revision; a
   * writer that got there first makes the server refuse it, and it is tried again.
   */
  private async appendAtHead(
    streamId: string,
    events: readonly NewEvent[],
    prepared: readonly PreparedEvent[],
    expected: 'any' | 'stream_exists',
  ): Promise<AppendResult> {
    for (let attempt = 1; ; attempt++) {
      const { head, recent } = await this.tail(streamId, RETRY_WINDOW + events.length);
      const retry = judgeRecentRetry(streamId, events, recent);
      if (retry instanceof EventStoreError) throw retry;
      if (retry) return { nextExpectedRevision: retry.revision, checkpoint: retry.checkpoint };
      if (expected === 'stream_exists' && head.revision < 0) {
        throw new WrongExpectedRevision(streamId, expected, 'no_stream');
      }
      try {
        return await this.write(
          streamId,
          events,
          prepared,
          head,
          head.revision < 0 ? 'no_stream' : BigInt(head.revision),
        );
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        if (attempt === MAX_ATTEMPTS) {
          throw new EventStoreUnavailable(
            `stream ${streamId}: other writers won ${MAX_ATTEMPTS} races in a row for its next revision; try again`,
          );
        }
        // Someone else appended in between: back off a little (more as the race goes on) and read again.
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(2 ** attempt, 50)));
      }
    }
  }

  /** Appends the events chained after `head`, at `expected` (which names `head`); throws the client's errors. */
  private async write(
    streamId: string,
    events: readonly NewEvent[],
    prepared: readonly PreparedEvent[],
    head: ChainHead,
    expected: EsdbExpectedRevision,
  ): Promise<AppendResult> {
    const chained = toChainedEsdbEvents(streamId, prepared, head);
    let result: { nextExpectedRevision: bigint; position?: EsdbPosition };
    try {
      result = await this.transport.append(streamId, chained, expected);
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) throw error;
      throw translate(error, streamId);
    }
    const last = toRevision(result.nextExpectedRevision);
    if (result.position) {
      this.remember(streamId, { revision: last, hash: chained[chained.length - 1]!.metadata.heraldChain!.hash });
      return { nextExpectedRevision: last, checkpoint: positionToCheckpoint(result.position) };
    }
    // No position: the server took the append for a retry and wrote nothing (the events
    // recorded keep the links of their first write). Its result is where the events stand,
    // read back and checked.
    const readBack = await this.placed(streamId, last - events.length + 1, events.length);
    const judged = judgeIdempotentAppend(streamId, events, readBack);
    if (judged instanceof EventStoreError) throw judged;
    return { nextExpectedRevision: judged.revision, checkpoint: judged.checkpoint };
  }

  /** One stream's events with their chain links, as the server serves them (its retention applies). */
  async readChain(streamId: string, options: ReadChainOptions = {}): Promise<ChainedEvent[]> {
    assertStreamId(streamId);
    const { from, limit } = readChainWindow(options);
    this.assertOpen();
    try {
      const events = await this.transport.readStream(streamId, {
        from: BigInt(from),
        direction: 'forwards',
        maxCount: limit,
      });
      return events.map(toChainedEvent);
    } catch (error) {
      if ((error as { type?: string }).type === ErrorType.STREAM_NOT_FOUND) return [];
      throw translate(error, streamId);
    }
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    assertStreamId(streamId);
    const limit = readLimit(options.limit);
    assertReadStreamOptions(options);
    this.assertOpen();
    const direction = options.direction ?? 'forwards';
    const from = options.from ?? (direction === 'forwards' ? 'start' : 'end');
    let events: EsdbRecordedEvent[];
    try {
      events = await this.transport.readStream(streamId, {
        from: typeof from === 'number' ? BigInt(from) : from,
        direction,
        maxCount: limit,
      });
    } catch (error) {
      throw translate(error, streamId);
    }
    // A stream whose retention was set while deleted reads as deleted until written again.
    if (events.length === 0 && (await this.getStreamInfo(streamId)).deleted) throw new StreamNotFound(streamId);
    return events.map((e) => fromEsdbEvent(e, undefined));
  }

  async readAll(options: ReadAllOptions = {}): Promise<ReadAllPage> {
    const limit = readLimit(options.limit);
    const from = options.from ?? START;
    assertReadCheckpoint(from);
    this.assertOpen();
    const plan = planFilter(options.filter);
    // Reads from a position include the event at it: one more, and that one dropped.
    const raw = await this.readAllRaw(checkpointToPosition(from), limit + 1, plan);
    return pageOf(raw, from, plan, limit);
  }

  subscribeToAll(options: SubscribeOptions = {}): AsyncIterable<ReadAllPage> {
    const limit = readLimit(options.limit);
    const from = options.from ?? START;
    assertReadCheckpoint(from);
    this.assertOpen();
    return this.follow(from, limit, planFilter(options.filter), options.signal);
  }

  async getStreamInfo(streamId: string): Promise<StreamInfo> {
    assertStreamId(streamId);
    this.assertOpen();
    const [stored, revision] = await Promise.all([this.storedMetadata(streamId), this.lastRevision(streamId)]);
    const state = fromEsdbStreamMetadata(stored, revision);
    return { revision, deleted: state.deleted, metadata: state.metadata };
  }

  async setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<void> {
    assertStreamId(streamId);
    assertStreamMetadata(metadata);
    this.assertOpen();
    const [stored, revision] = await Promise.all([this.storedMetadata(streamId), this.lastRevision(streamId)]);
    try {
      await this.transport.setStreamMetadata(streamId, toEsdbStreamMetadata(metadata, stored, revision));
    } catch (error) {
      throw translate(error, streamId);
    }
  }

  async deleteStream(streamId: string, expectedRevision: ExpectedRevision = 'any'): Promise<void> {
    assertStreamId(streamId);
    this.assertOpen();
    // The port refuses to delete a stream with no events (EventStoreDB would write the marker anyway).
    const revision = await this.lastRevision(streamId);
    if (revision < 0 && expectedRevision !== 'no_stream') throw new StreamNotFound(streamId);
    const esdb = toEsdbExpectedRevision(expectedRevision);
    // The server's delete knows no `stream_exists`; the stream was just found to exist.
    const expected = esdb === 'stream_exists' ? 'any' : esdb;
    try {
      await this.transport.deleteStream(streamId, expected);
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        throw new WrongExpectedRevision(streamId, expectedRevision, fromEsdbCurrentRevision(error.actualVersion));
      }
      throw translate(error, streamId);
    }
  }

  async headCheckpoint(): Promise<Checkpoint> {
    this.assertOpen();
    const [newest] = await this.readAllRaw('end', 1, planFilter(undefined), 'backwards');
    return newest?.position ? positionToCheckpoint(newest.position) : START;
  }

  async countEventsAfter(checkpoint: Checkpoint, max: number): Promise<number> {
    assertReadCheckpoint(checkpoint);
    this.assertOpen();
    if (max <= 0) return 0;
    const plan = planFilter(undefined);
    const raw = await this.readAllRaw(checkpointToPosition(checkpoint), Math.min(max, 10_000) + 1, plan);
    return Math.min(max, raw.filter((e) => e.position && isAfter(e.position, checkpoint) && isHeraldEvent(e)).length);
  }

  /** Through this port's own reads (audit-log.ts): what the store serves, refused where it cannot answer. */
  readAuditStream(streamId: string, afterRevision: StreamRevision, limit: number): Promise<AuditStreamPage> {
    return readAuditStreamFrom(this, streamId, afterRevision, limit);
  }

  auditLog(query: AuditLogQuery, count?: (events: number) => void): Promise<AuditLines> {
    return auditLogFrom(this, query, count);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.transport.close();
  }

  // ---------------------------------------------------------------- helpers

  private assertOpen(): void {
    if (this.closed) throw new EventStoreUnavailable('the event store is closed');
  }

  private knownHead(streamId: string, revision: StreamRevision): ChainHead | undefined {
    const head = this.heads.get(streamId);
    return head?.revision === revision ? head : undefined;
  }

  private remember(streamId: string, head: ChainHead): void {
    this.heads.delete(streamId);
    this.heads.set(streamId, head);
    if (this.heads.size > KNOWN_HEADS) this.heads.delete(this.heads.keys().next().value!);
  }

  /**
   * The head an append at `revision` chains to: the event there (its hash), or, when the
   * stream has not reached it, the stream's revision (a number: the append cannot be placed).
   */
  private async headAt(streamId: string, revision: StreamRevision): Promise<ChainHead | StreamRevision> {
    let there: EsdbRecordedEvent | undefined;
    try {
      [there] = await this.transport.readStream(streamId, {
        from: BigInt(revision),
        direction: 'forwards',
        maxCount: 1,
      });
    } catch (error) {
      if ((error as { type?: string }).type !== ErrorType.STREAM_NOT_FOUND) throw translate(error, streamId);
    }
    if (there && toRevision(there.revision) === revision) return this.headOf(streamId, there);
    // Not served: the stream is shorter, or its retention or a soft delete hides the revision.
    const last = await this.lastRevision(streamId);
    if (last < revision) return last;
    return { revision, hash: await this.hiddenHash(streamId, revision) };
  }

  /** The stream's newest events (up to `count`, newest first) and its head. */
  private async tail(streamId: string, count: number): Promise<{ head: ChainHead; recent: PlacedEvent[] }> {
    let newest: EsdbRecordedEvent[] = [];
    try {
      newest = await this.transport.readStream(streamId, {
        from: 'end',
        direction: 'backwards',
        maxCount: count,
      });
    } catch (error) {
      if ((error as { type?: string }).type !== ErrorType.STREAM_NOT_FOUND) throw translate(error, streamId);
    }
    const recent = newest.map((e) => ({
      eventId: e.id,
      revision: toRevision(e.revision),
      checkpoint: positionToCheckpoint(e.position!),
    }));
    if (newest[0]) return { head: this.headOf(streamId, newest[0]), recent };
    // Nothing served: no events, or all of them hidden by retention or a soft delete.
    const last = await this.lastRevision(streamId);
    const head =
      last < 0 ? { revision: -1, hash: null } : { revision: last, hash: await this.hiddenHash(streamId, last) };
    return { head, recent };
  }

  private headOf(streamId: string, event: EsdbRecordedEvent): ChainHead {
    const head = { revision: toRevision(event.revision), hash: chainFieldsOf(event)?.hash ?? null };
    this.remember(streamId, head);
    return head;
  }

  /**
   * The hash of a revision the stream no longer serves (its retention or a soft delete
   * hides it): $all still holds the event until a scavenge, so it is looked for there,
   * backwards from the end, among the events of streams with this prefix. Rare (only when a
   * stream's newest event is hidden), and costs a scan of $all back to the event.
   */
  private async hiddenHash(streamId: string, revision: StreamRevision): Promise<string | null> {
    const plan: FilterPlan = { server: { filterOn: 'streamName', prefixes: [streamId] }, client: null };
    let from: EsdbPosition | 'end' = 'end';
    for (;;) {
      const page = await this.readAllRaw(from, HIDDEN_PAGE, plan, 'backwards');
      const before = from === 'end' ? undefined : positionToCheckpoint(from);
      for (const e of page) {
        // A backwards read from a position may include the event at it: seen already.
        if (before !== undefined && e.position && positionToCheckpoint(e.position) >= before) continue;
        if (e.streamId !== streamId) continue;
        const r = toRevision(e.revision);
        if (r === revision) {
          const hash = chainFieldsOf(e)?.hash ?? null;
          this.remember(streamId, { revision, hash });
          return hash;
        }
        if (r < revision) break;
      }
      const last = page[page.length - 1];
      if (
        page.length < HIDDEN_PAGE ||
        !last?.position ||
        page.some((e) => e.streamId === streamId && toRevision(e.revision) < revision)
      ) {
        throw new EventStoreUnavailable(
          `stream ${streamId}: revision ${revision}, which the next event's hash chains to, is no longer stored ` +
            '(scavenged); its chain cannot be continued (docs/adr/026-eventstoredb-adapter.md)',
        );
      }
      from = last.position;
    }
  }

  private async readAllRaw(
    from: EsdbPosition | 'start' | 'end',
    maxCount: number,
    plan: FilterPlan,
    direction: 'forwards' | 'backwards' = 'forwards',
  ): Promise<EsdbRecordedEvent[]> {
    try {
      return await this.transport.readAll({ from, direction, maxCount, filter: plan.server });
    } catch (error) {
      throw translate(error, '$all');
    }
  }

  /** The stream's last revision: -1 for none, and for a deleted stream the revision it had. */
  private async lastRevision(streamId: string): Promise<StreamRevision> {
    try {
      const [last] = await this.transport.readStream(streamId, { from: 'end', direction: 'backwards', maxCount: 1 });
      if (last) return toRevision(last.revision);
    } catch (error) {
      if (!isCommandError(error as Error) || (error as { type?: string }).type !== ErrorType.STREAM_NOT_FOUND) {
        throw translate(error, streamId);
      }
    }
    // Missing, soft-deleted, or every event past retention: ask the server its revision by
    // an append of nothing that cannot match (it writes nothing and says the actual revision).
    try {
      await this.transport.append(streamId, [], BigInt(Number.MAX_SAFE_INTEGER));
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        const actual = fromEsdbCurrentRevision(error.actualVersion);
        return actual === 'no_stream' ? -1 : actual;
      }
      throw translate(error, streamId);
    }
    return -1;
  }

  private async storedMetadata(streamId: string) {
    try {
      return await this.transport.getStreamMetadata(streamId);
    } catch (error) {
      throw translate(error, streamId);
    }
  }

  /** Events of a stream from a revision, as ids and checkpoints (empty when none are there). */
  private async placed(streamId: string, from: StreamRevision, count: number): Promise<PlacedEvent[]> {
    if (from < 0 || count <= 0) return [];
    try {
      const events = await this.transport.readStream(streamId, {
        from: BigInt(from),
        direction: 'forwards',
        maxCount: count,
      });
      return events.map((e) => ({
        eventId: e.id,
        revision: toRevision(e.revision),
        checkpoint: positionToCheckpoint(e.position!),
      }));
    } catch (error) {
      if ((error as { type?: string }).type === ErrorType.STREAM_NOT_FOUND) return [];
      throw translate(error, streamId);
    }
  }

  private async refused(
    streamId: string,
    events: readonly NewEvent[],
    expected: ExpectedRevision,
    error: WrongExpectedVersionError,
  ): Promise<EventStoreError> {
    const actual = fromEsdbCurrentRevision(error.actualVersion);
    const first = expectedFirstRevision(expected);
    const atPlace = first === null ? [] : await this.placed(streamId, first, events.length);
    return judgeRefusedAppend(streamId, events, expected, actual, atPlace);
  }

  private async *follow(
    from: Checkpoint,
    limit: number,
    plan: FilterPlan,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<ReadAllPage> {
    if (signal?.aborted) return;
    const subscription = this.transport.subscribeToAll({
      from: checkpointToPosition(from),
      filter: plan.server,
      checkpointInterval: 1,
    });
    type Item = { kind: 'event'; event: EsdbRecordedEvent } | { kind: 'checkpoint'; position: EsdbPosition };
    const queue: Item[] = [];
    let ended = false;
    let failure: Error | undefined;
    let paused = false;
    let wake: (() => void) | undefined;
    const notify = (): void => {
      wake?.();
      wake = undefined;
    };
    subscription.onEvent((event) => {
      queue.push({ kind: 'event', event });
      if (!paused && queue.length >= limit * BUFFERED_PAGES) {
        paused = true;
        subscription.pause();
      }
      notify();
    });
    subscription.onCheckpoint((position) => {
      queue.push({ kind: 'checkpoint', position });
      notify();
    });
    subscription.onEnd((error) => {
      ended = true;
      failure = error;
      notify();
    });
    const onAbort = (): void => notify();
    signal?.addEventListener('abort', onAbort);
    let checkpoint = from;
    try {
      for (;;) {
        if (signal?.aborted) return;
        if (queue.length === 0) {
          if (ended) {
            if (signal?.aborted || this.closed) return;
            throw new EventStoreUnavailable(`the subscription to $all ended: ${failure?.message ?? 'closed'}`, {
              cause: failure,
            });
          }
          await new Promise<void>((resolve) => (wake = resolve));
          continue;
        }
        const events: RecordedEvent[] = [];
        let advanced = checkpoint;
        while (queue.length > 0 && events.length < limit) {
          const item = queue.shift()!;
          const position = item.kind === 'event' ? item.event.position : item.position;
          if (!position) continue;
          const at = positionToCheckpoint(position);
          // Never behind what was delivered: a resumed subscription starts after `from`.
          if (compareCheckpoints(at, advanced) <= 0) continue;
          advanced = at;
          if (item.kind === 'checkpoint' || !isHeraldEvent(item.event)) continue;
          const event = fromEsdbEvent(item.event, position);
          if (passesClientFilter(plan, event)) events.push(event);
        }
        if (paused && queue.length < limit) {
          paused = false;
          subscription.resume();
        }
        if (advanced === checkpoint) continue;
        checkpoint = advanced;
        yield { events, checkpoint };
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await subscription.close().catch(() => undefined);
    }
  }
}

/** One page of a read of $all: events strictly after `from`, at most `limit`, the checkpoint past what was scanned. */
export function pageOf(
  raw: readonly EsdbRecordedEvent[],
  from: Checkpoint,
  plan: FilterPlan,
  limit: number,
): ReadAllPage {
  const events: RecordedEvent[] = [];
  let checkpoint = from;
  let scanned = 0;
  for (const e of raw) {
    if (!e.position || !isAfter(e.position, from)) continue;
    if (scanned++ === limit) break;
    checkpoint = positionToCheckpoint(e.position);
    if (!isHeraldEvent(e)) continue;
    const event = fromEsdbEvent(e, e.position);
    if (passesClientFilter(plan, event)) events.push(event);
  }
  return { events, checkpoint };
}

/** The client's errors as the port's: a missing stream, or the server out of reach. */
function translate(error: unknown, streamId: string): Error {
  if (error instanceof EventStoreError) return error;
  if (error instanceof Error && isCommandError(error)) {
    if (error.type === ErrorType.STREAM_NOT_FOUND || error.type === ErrorType.STREAM_DELETED) {
      return new StreamNotFound(streamId);
    }
    return new EventStoreUnavailable(`EventStoreDB: ${error.message}`, { cause: error });
  }
  return new EventStoreUnavailable(`EventStoreDB: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
  });
}
