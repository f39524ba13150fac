/**
 * A simulated EventStoreDB behind the adapter's transport, for running the whole contract
 * suite without a server. It follows the server's rules as docs/adr/026 states them (and
 * only those): the append's idempotency check (the events at the expected place; for `any`
 * a bounded cache of recent ids), WrongExpectedVersion with the current revision, an
 * idempotent answer without a position, soft delete as `$tb` = long.MaxValue and the
 * recreation that sets `$tb` past the old revision, `$maxAge`/`$maxCount`/`$tb` applied to
 * stream reads but not to `$all`, `$metadata` events of `$$` streams in `$all`, filters on
 * stream-name prefixes or an event-type regex, catch-up subscriptions with checkpoints.
 * Event data and metadata are stored as the client sends them (JSON) and never looked into:
 * the server knows nothing of Herald's hash chain, and its idempotency compares ids only.
 * `tamper` rewrites a stored event as someone with access to the server's files could.
 * It is a model of the server, not the server: the suite against a real one
 * (EVENTSTORE_URL) is the proof.
 */
import { StreamNotFoundError, WrongExpectedVersionError } from '@eventstore/db-client';
import type {
  EsdbEventData,
  EsdbExpectedRevision,
  EsdbPosition,
  EsdbRecordedEvent,
  EsdbStreamMetadata,
  ServerFilter,
} from './mapping.js';
import type {
  EsdbSubscription,
  EsdbTransport,
  ReadAllRequest,
  ReadStreamRequest,
  SubscribeRequest,
} from './transport.js';

/** long.MaxValue as JSON.parse reads the server's `$tb` of a soft-deleted stream. */
const DELETED = JSON.parse('9223372036854775807') as number;
/** How many recent event ids the `any` idempotency check remembers. */
const COMMIT_CACHE = 100_000;
/** Filtered-out events between two checkpoints of a subscription (the server's search window). */
const SEARCH_WINDOW = 32;

interface StreamState {
  events: EsdbRecordedEvent[];
  metadata: EsdbStreamMetadata | undefined;
}

const wrongVersion = (streamName: string, expected: EsdbExpectedRevision, current: number): WrongExpectedVersionError =>
  new WrongExpectedVersionError(undefined, {
    streamName,
    expected,
    current: current < 0 ? 'no_stream' : BigInt(current),
  } as never);

const copy = (event: EsdbRecordedEvent): EsdbRecordedEvent => ({
  ...event,
  data: structuredClone(event.data),
  metadata: structuredClone(event.metadata),
});

const matchesFilter = (filter: ServerFilter, event: EsdbRecordedEvent): boolean =>
  filter.filterOn === 'streamName'
    ? filter.prefixes.some((p) => event.streamId.startsWith(p))
    : new RegExp(filter.regex).test(event.type);

const comparePositions = (a: EsdbPosition, b: EsdbPosition): number =>
  a.commit === b.commit ? Number(a.prepare - b.prepare) : a.commit < b.commit ? -1 : 1;

export class SimulatedEventStoreDb {
  private readonly streams = new Map<string, StreamState>();
  private readonly log: EsdbRecordedEvent[] = [];
  private readonly recentIds = new Map<string, { streamId: string; revision: number }>();
  private readonly subscribers = new Set<(event: EsdbRecordedEvent) => void>();
  private next = 1000n;
  /** Appends refused as WrongExpectedVersion (a test shows a race really happened). */
  wrongExpectedVersions = 0;

  /**
   * Rewrites a stored event's data or metadata in place, in its stream and in $all, as an
   * attacker editing the server's files (EventStoreDB itself never changes an event).
   */
  tamper(
    streamId: string,
    revision: number,
    rewrite: (event: { data: unknown; metadata: unknown }) => { data: unknown; metadata: unknown },
  ): void {
    const events = this.streams.get(streamId)?.events ?? [];
    const index = events.findIndex((e) => Number(e.revision) === revision);
    if (index < 0) throw new Error(`no event ${streamId}@${revision} to tamper with`);
    const old = events[index]!;
    const changed = rewrite({ data: structuredClone(old.data), metadata: structuredClone(old.metadata) });
    const forged: EsdbRecordedEvent = { ...old, data: changed.data, metadata: changed.metadata };
    events[index] = forged;
    this.log[this.log.indexOf(old)] = forged;
  }

  /** A transport on this server, as one client connection. */
  connect(): EsdbTransport {
    return {
      append: (streamId, events, expected) =>
        this.later(() => {
          try {
            return this.append(streamId, events, expected);
          } catch (error) {
            if (error instanceof WrongExpectedVersionError) this.wrongExpectedVersions++;
            throw error;
          }
        }),
      readStream: (streamId, request) => this.later(() => this.readStream(streamId, request)),
      readAll: (request) => this.later(() => this.readAll(request)),
      subscribeToAll: (request) => this.subscribe(request),
      getStreamMetadata: (streamId) => this.later(() => structuredClone(this.streams.get(streamId)?.metadata)),
      setStreamMetadata: (streamId, metadata) => this.later(() => this.writeMetadata(streamId, metadata)),
      deleteStream: (streamId, expected) => this.later(() => this.softDelete(streamId, expected)),
      close: () => Promise.resolve(),
    };
  }

  /** Each request answers after the current turn, as over a network. */
  private later<T>(work: () => T): Promise<T> {
    return new Promise((resolve, reject) =>
      setImmediate(() => {
        try {
          resolve(work());
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      }),
    );
  }

  private state(streamId: string): StreamState {
    let state = this.streams.get(streamId);
    if (!state) {
      state = { events: [], metadata: undefined };
      this.streams.set(streamId, state);
    }
    return state;
  }

  private current(streamId: string): number {
    const events = this.streams.get(streamId)?.events ?? [];
    return events.length === 0 ? -1 : Number(events[events.length - 1]!.revision);
  }

  private record(streamId: string, revision: number, type: string, data: unknown, metadata: unknown, id: string) {
    const position = { commit: this.next, prepare: this.next };
    this.next += 100n;
    const event: EsdbRecordedEvent = {
      streamId,
      id,
      revision: BigInt(revision),
      type,
      data: structuredClone(data),
      metadata: structuredClone(metadata),
      created: new Date(),
      position,
    };
    this.log.push(event);
    for (const subscriber of this.subscribers) subscriber(event);
    return event;
  }

  private append(
    streamId: string,
    events: readonly EsdbEventData[],
    expected: EsdbExpectedRevision,
  ): { nextExpectedRevision: bigint; position?: EsdbPosition } {
    const current = this.current(streamId);
    const stream = this.streams.get(streamId);
    const stored = stream?.events ?? [];
    let at: EsdbExpectedRevision = expected;
    if (at === 'stream_exists') {
      if (current < 0) throw wrongVersion(streamId, expected, current);
      at = 'any';
    }
    if (at === 'any') {
      const found = events.map((e) => this.recentIds.get(e.id.toLowerCase()));
      if (events.length > 0 && found[0] && found[0].streamId === streamId) {
        if (found.some((f) => !f || f.streamId !== streamId)) throw wrongVersion(streamId, expected, current);
        return { nextExpectedRevision: BigInt(found[found.length - 1]!.revision) };
      }
    } else {
      const e = at === 'no_stream' ? -1 : Number(at);
      if (e > current) throw wrongVersion(streamId, expected, current);
      if (e < current || (events.length === 0 && e !== current)) {
        // The events at the revisions after the expected one must be these, in order.
        for (let i = 0; i < events.length; i++) {
          const there = stored.find((s) => Number(s.revision) === e + 1 + i);
          if (!there || there.id.toLowerCase() !== events[i]!.id.toLowerCase()) {
            throw wrongVersion(streamId, expected, current);
          }
        }
        if (events.length === 0) throw wrongVersion(streamId, expected, current);
        return { nextExpectedRevision: BigInt(e + events.length) };
      }
    }
    if (events.length === 0) return { nextExpectedRevision: BigInt(current) };
    const state = this.state(streamId);
    if (state.metadata?.$tb === DELETED) {
      // Recreating a soft-deleted stream: history before it stays cut, the rest of the metadata is kept.
      this.writeMetadata(streamId, { ...state.metadata, $tb: current + 1 });
    }
    let last: EsdbRecordedEvent | undefined;
    for (const [i, e] of events.entries()) {
      last = this.record(streamId, current + 1 + i, e.type, e.data, e.metadata, e.id);
      state.events.push(last);
      this.recentIds.set(e.id.toLowerCase(), { streamId, revision: current + 1 + i });
      if (this.recentIds.size > COMMIT_CACHE) this.recentIds.delete(this.recentIds.keys().next().value!);
    }
    return { nextExpectedRevision: last!.revision, position: last!.position! };
  }

  private visible(streamId: string): EsdbRecordedEvent[] {
    const state = this.streams.get(streamId);
    if (!state || state.events.length === 0 || state.metadata?.$tb === DELETED) {
      throw new StreamNotFoundError(undefined, streamId);
    }
    const { $tb = 0, $maxCount, $maxAge } = state.metadata ?? {};
    const last = Number(state.events[state.events.length - 1]!.revision);
    const oldest = Math.max($tb, $maxCount === undefined ? 0 : last - $maxCount + 1);
    const since = $maxAge === undefined ? 0 : Date.now() - $maxAge * 1000;
    return state.events.filter((e) => Number(e.revision) >= oldest && e.created.getTime() >= since);
  }

  private readStream(streamId: string, request: ReadStreamRequest): EsdbRecordedEvent[] {
    const events = this.visible(streamId);
    const forwards = request.direction === 'forwards';
    const from = request.from === 'start' ? -Infinity : request.from === 'end' ? Infinity : Number(request.from);
    const picked = forwards
      ? events.filter((e) => Number(e.revision) >= from)
      : events.filter((e) => Number(e.revision) <= from).reverse();
    return picked.slice(0, request.maxCount).map(copy);
  }

  private readAll(request: ReadAllRequest): EsdbRecordedEvent[] {
    const forwards = request.direction === 'forwards';
    const from = request.from;
    const inRange = (e: EsdbRecordedEvent): boolean =>
      from === 'start' || from === 'end'
        ? !(forwards && from === 'end')
        : forwards
          ? comparePositions(e.position!, from) >= 0
          : comparePositions(e.position!, from) <= 0;
    const ordered = forwards ? this.log : [...this.log].reverse();
    const out: EsdbRecordedEvent[] = [];
    for (const e of ordered) {
      if (out.length === request.maxCount) break;
      if (inRange(e) && matchesFilter(request.filter, e)) out.push(copy(e));
    }
    return out;
  }

  private writeMetadata(streamId: string, metadata: EsdbStreamMetadata): void {
    this.state(streamId).metadata = JSON.parse(JSON.stringify(metadata)) as EsdbStreamMetadata;
    const metastream = `$$${streamId}`;
    const revision = this.current(metastream) + 1;
    const event = this.record(metastream, revision, '$metadata', metadata, {}, crypto.randomUUID());
    this.state(metastream).events.push(event);
  }

  private softDelete(streamId: string, expected: Exclude<EsdbExpectedRevision, 'stream_exists'>): void {
    const current = this.current(streamId);
    if (expected === 'no_stream' ? current !== -1 : expected !== 'any' && Number(expected) !== current) {
      throw wrongVersion(streamId, expected, current);
    }
    this.writeMetadata(streamId, { ...this.streams.get(streamId)?.metadata, $tb: DELETED });
  }

  private subscribe(request: SubscribeRequest): EsdbSubscription {
    const eventListeners: ((event: EsdbRecordedEvent) => void)[] = [];
    const checkpointListeners: ((position: EsdbPosition) => void)[] = [];
    const endListeners: ((error?: Error) => void)[] = [];
    const pending: EsdbRecordedEvent[] = [];
    let paused = false;
    let closed = false;
    let skipped = 0;
    const flush = (): void => {
      while (!paused && !closed && pending.length > 0) {
        const event = pending.shift()!;
        if (matchesFilter(request.filter, event)) {
          for (const listener of eventListeners) listener(copy(event));
        } else if (++skipped % (SEARCH_WINDOW * request.checkpointInterval) === 0) {
          for (const listener of checkpointListeners) listener(event.position!);
        }
      }
    };
    const live = (event: EsdbRecordedEvent): void => {
      pending.push(event);
      setImmediate(flush);
    };
    // Catch up from the log after the position (exclusive), then live.
    setImmediate(() => {
      if (closed) return;
      const from = request.from;
      pending.push(...this.log.filter((e) => from === 'start' || comparePositions(e.position!, from) > 0));
      this.subscribers.add(live);
      flush();
    });
    return {
      onEvent: (listener) => eventListeners.push(listener),
      onCheckpoint: (listener) => checkpointListeners.push(listener),
      onEnd: (listener) => endListeners.push(listener),
      pause: () => {
        paused = true;
      },
      resume: () => {
        paused = false;
        setImmediate(flush);
      },
      close: () => {
        closed = true;
        this.subscribers.delete(live);
        for (const listener of endListeners) listener();
        return Promise.resolve();
      },
    };
  }
}
