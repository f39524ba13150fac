/**
 * What the adapter asks of EventStoreDB, as one narrow interface: the real one wraps
 * `@eventstore/db-client`, a unit test gives a fake and sees every request the adapter
 * builds. The one request the client has no method for is a *filtered* read of $all
 * (its `readAll` always sends "no filter"; the gRPC protocol has the filter since
 * EventStoreDB 20.6): `buildReadAllRequest` makes it and the client's own stream reader runs it.
 */
import {
  EventStoreDBClient,
  jsonEvent,
  type AllStreamSubscription,
  type AppendResult,
  type ResolvedEvent,
} from '@eventstore/db-client';
// The generated protobuf modules and the client's stream reader are CommonJS without
// named exports Node can see: imported whole.
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import streamsGrpc from '@eventstore/db-client/generated/streams_grpc_pb.js';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import readStreamModule from '@eventstore/db-client/dist/streams/utils/ReadStream.js';
import convertModule from '@eventstore/db-client/dist/utils/convertGrpcEvent.js';
import type { ClientReadableStream } from '@grpc/grpc-js';

const { Empty } = sharedPb;
const { StreamsClient } = streamsGrpc;
const { ReadReq } = streamsPb;
type ReadReq = InstanceType<typeof ReadReq>;
type StreamsClient = InstanceType<typeof StreamsClient>;
const { ReadStream } = readStreamModule;
const { convertGrpcEvent } = convertModule;
import type {
  EsdbEventData,
  EsdbExpectedRevision,
  EsdbPosition,
  EsdbRecordedEvent,
  EsdbStreamMetadata,
  ServerFilter,
} from './mapping.js';

export interface ReadAllRequest {
  readonly from: EsdbPosition | 'start' | 'end';
  readonly direction: 'forwards' | 'backwards';
  readonly maxCount: number;
  readonly filter: ServerFilter;
}

export interface ReadStreamRequest {
  readonly from: bigint | 'start' | 'end';
  readonly direction: 'forwards' | 'backwards';
  readonly maxCount: number;
}

export interface SubscribeRequest {
  readonly from: EsdbPosition | 'start';
  readonly filter: ServerFilter;
  /** How many filtered-out events between two checkpoints the server sends (× 32 scanned). */
  readonly checkpointInterval: number;
}

/** A live catch-up subscription: events and checkpoints as they come, then an end or an error. */
export interface EsdbSubscription {
  /** Events (with their position) and checkpoints the server reached (filtered-out events behind them). */
  onEvent(listener: (event: EsdbRecordedEvent) => void): void;
  onCheckpoint(listener: (position: EsdbPosition) => void): void;
  onEnd(listener: (error?: Error) => void): void;
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

export interface EsdbTransport {
  append(
    streamId: string,
    events: readonly EsdbEventData[],
    expected: EsdbExpectedRevision,
  ): Promise<{ nextExpectedRevision: bigint; position?: EsdbPosition }>;
  /** Throws the client's StreamNotFoundError for a missing or soft-deleted stream. */
  readStream(streamId: string, request: ReadStreamRequest): Promise<EsdbRecordedEvent[]>;
  readAll(request: ReadAllRequest): Promise<EsdbRecordedEvent[]>;
  subscribeToAll(request: SubscribeRequest): EsdbSubscription;
  getStreamMetadata(streamId: string): Promise<EsdbStreamMetadata | undefined>;
  setStreamMetadata(streamId: string, metadata: EsdbStreamMetadata): Promise<void>;
  deleteStream(streamId: string, expected: Exclude<EsdbExpectedRevision, 'stream_exists'>): Promise<void>;
  close(): Promise<void>;
}

// ------------------------------------------------------------------ the filtered read of $all

/** The gRPC ReadReq of a filtered read of $all: what `client.readAll` builds, with the filter set. */
export function buildReadAllRequest(request: ReadAllRequest): ReadReq {
  const req = new ReadReq();
  const options = new ReadReq.Options();
  const all = new ReadReq.Options.AllOptions();
  if (request.from === 'start') all.setStart(new Empty());
  else if (request.from === 'end') all.setEnd(new Empty());
  else {
    const position = new ReadReq.Options.Position();
    position.setCommitPosition(request.from.commit.toString(10));
    position.setPreparePosition(request.from.prepare.toString(10));
    all.setPosition(position);
  }
  options.setAll(all);
  options.setResolveLinks(false);
  options.setCount(String(request.maxCount));
  const uuid = new ReadReq.Options.UUIDOption();
  uuid.setString(new Empty());
  options.setUuidOption(uuid);
  options.setReadDirection(request.direction === 'forwards' ? 0 : 1);
  const expression = new ReadReq.Options.FilterOptions.Expression();
  if (request.filter.filterOn === 'streamName') expression.setPrefixList([...request.filter.prefixes]);
  else expression.setRegex(request.filter.regex);
  const filter = new ReadReq.Options.FilterOptions();
  if (request.filter.filterOn === 'streamName') filter.setStreamIdentifier(expression);
  else filter.setEventType(expression);
  // A read ends after maxCount matches or at the end of the log; "count" leaves the scan window to the server.
  filter.setCount(new Empty());
  filter.setCheckpointintervalmultiplier(1);
  options.setFilter(filter);
  req.setOptions(options);
  return req;
}

/** The client's protected members the filtered read uses (stable within the pinned 6.x). */
interface ClientInternals {
  GRPCStreamCreator<T>(
    client: typeof StreamsClient,
    debugName: string,
    creator: (client: StreamsClient) => T,
  ): () => Promise<T>;
  callArguments(options: object, overrides: { deadline: number }): [];
}

// ------------------------------------------------------------------ the real client

const recorded = (resolved: ResolvedEvent): EsdbRecordedEvent | null => {
  const event = resolved.event;
  if (!event) return null;
  return {
    streamId: event.streamId,
    id: event.id,
    revision: event.revision,
    type: event.type,
    data: event.data,
    metadata: event.metadata,
    created: event.created,
    ...('position' in event && event.position ? { position: event.position } : {}),
  };
};

async function collect(stream: AsyncIterable<ResolvedEvent>): Promise<EsdbRecordedEvent[]> {
  const out: EsdbRecordedEvent[] = [];
  for await (const resolved of stream) {
    const event = recorded(resolved);
    if (event) out.push(event);
  }
  return out;
}

export function clientTransport(connectionString: string): EsdbTransport {
  const client = EventStoreDBClient.connectionString(connectionString);
  const internals = client as unknown as ClientInternals;
  return {
    async append(streamId, events, expected) {
      const result: AppendResult = await client.appendToStream(
        streamId,
        events.map((e) =>
          jsonEvent({ id: e.id, type: e.type, data: e.data as never, metadata: e.metadata as unknown as never }),
        ),
        { expectedRevision: expected },
      );
      return {
        nextExpectedRevision: result.nextExpectedRevision,
        ...(result.position ? { position: result.position } : {}),
      };
    },
    readStream(streamId, request) {
      return collect(
        client.readStream(streamId, {
          fromRevision: request.from,
          direction: request.direction,
          maxCount: request.maxCount,
        }),
      );
    },
    readAll(request) {
      const req = buildReadAllRequest(request);
      const create = internals.GRPCStreamCreator(StreamsClient, 'readAll', (grpc: StreamsClient) =>
        grpc.read(req, ...internals.callArguments({}, { deadline: Infinity })),
      ) as unknown as () => Promise<ClientReadableStream<never>>;
      return collect(new ReadStream(create, convertGrpcEvent, {}));
    },
    subscribeToAll(request) {
      const checkpointListeners: ((position: EsdbPosition) => void)[] = [];
      const subscription: AllStreamSubscription = client.subscribeToAll({
        fromPosition: request.from,
        filter: {
          ...(request.filter.filterOn === 'streamName'
            ? { filterOn: 'streamName', prefixes: [...request.filter.prefixes] }
            : { filterOn: 'eventType', regex: request.filter.regex }),
          checkpointInterval: request.checkpointInterval,
          checkpointReached: (_subscription, position) => {
            for (const listener of checkpointListeners) listener(position);
          },
        },
      });
      let ended = false;
      const endListeners: ((error?: Error) => void)[] = [];
      const end = (error?: Error): void => {
        if (ended) return;
        ended = true;
        for (const listener of endListeners) listener(error);
      };
      subscription.on('error', (error: Error) => end(error));
      subscription.on('end', () => end());
      subscription.on('close', () => end());
      return {
        onEvent: (listener) =>
          subscription.on('data', (resolved: ResolvedEvent) => {
            const event = recorded(resolved);
            if (event) listener(event);
          }),
        onCheckpoint: (listener) => checkpointListeners.push(listener),
        onEnd: (listener) => endListeners.push(listener),
        pause: () => subscription.pause(),
        resume: () => subscription.resume(),
        close: () => subscription.unsubscribe(),
      };
    },
    async getStreamMetadata(streamId) {
      const result = await client.getStreamMetadata(streamId);
      if (!result.metadata) return undefined;
      // The client renames $maxAge, $maxCount and $tb; put the stored names back.
      const { maxAge, maxCount, truncateBefore, ...custom } = result.metadata;
      return {
        ...custom,
        ...(typeof maxAge === 'number' ? { $maxAge: maxAge } : {}),
        ...(typeof maxCount === 'number' ? { $maxCount: maxCount } : {}),
        ...(typeof truncateBefore === 'number' ? { $tb: truncateBefore } : {}),
      };
    },
    async setStreamMetadata(streamId, metadata) {
      const { $maxAge, $maxCount, $tb, ...custom } = metadata;
      await client.setStreamMetadata(streamId, {
        ...custom,
        ...($maxAge !== undefined ? { maxAge: $maxAge } : {}),
        ...($maxCount !== undefined ? { maxCount: $maxCount } : {}),
        ...($tb !== undefined ? { truncateBefore: $tb } : {}),
      });
    },
    async deleteStream(streamId, expected) {
      await client.deleteStream(streamId, { expectedRevision: expected });
    },
    close: () => client.dispose(),
  };
}
