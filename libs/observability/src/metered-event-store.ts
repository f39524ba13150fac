/**
 * The event store port with its appends measured (`herald_event_store_append_duration_seconds`)
 * and, when tracing is on, traced (a span under the `traceparent` the events carry): the
 * same for every adapter, since it wraps the port. Everything else is passed through.
 */
import type {
  AppendResult,
  AuditLines,
  AuditLogQuery,
  AuditStreamPage,
  ChainedEvent,
  Checkpoint,
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
} from '@herald/event-store';
import type { HeraldMetrics } from './herald-metrics.js';
import { endSpan, SpanKind, startSpan, tracingEnabled } from './tracing.js';

export class MeteredEventStore implements EventStore {
  constructor(
    private readonly store: EventStore,
    private readonly metrics: Pick<HeraldMetrics, 'appendOk' | 'appendFailed'>,
  ) {}

  async append(
    streamId: string,
    events: readonly NewEvent[],
    expectedRevision: ExpectedRevision,
  ): Promise<AppendResult> {
    const span = tracingEnabled()
      ? startSpan('eventstore.append', {
          kind: SpanKind.CLIENT,
          parent: events[0]?.metadata.traceparent,
          attributes: { 'herald.events': events.length },
        })
      : undefined;
    const started = performance.now();
    try {
      const result = await this.store.append(streamId, events, expectedRevision);
      this.metrics.appendOk.observe((performance.now() - started) / 1000);
      endSpan(span);
      return result;
    } catch (error) {
      this.metrics.appendFailed.observe((performance.now() - started) / 1000);
      endSpan(span, error);
      throw error;
    }
  }

  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    return this.store.readStream(streamId, options);
  }

  readAll(options?: ReadAllOptions): Promise<ReadAllPage> {
    return this.store.readAll(options);
  }

  subscribeToAll(options?: SubscribeOptions): AsyncIterable<ReadAllPage> {
    return this.store.subscribeToAll(options);
  }

  getStreamInfo(streamId: string): Promise<StreamInfo> {
    return this.store.getStreamInfo(streamId);
  }

  readChain(streamId: string, options?: ReadChainOptions): Promise<ChainedEvent[]> {
    return this.store.readChain(streamId, options);
  }

  setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<void> {
    return this.store.setStreamMetadata(streamId, metadata);
  }

  deleteStream(streamId: string, expectedRevision?: ExpectedRevision): Promise<void> {
    return this.store.deleteStream(streamId, expectedRevision);
  }

  headCheckpoint(): Promise<Checkpoint> {
    return this.store.headCheckpoint();
  }

  countEventsAfter(checkpoint: Checkpoint, max: number): Promise<number> {
    return this.store.countEventsAfter(checkpoint, max);
  }

  readAuditStream(streamId: string, afterRevision: StreamRevision, limit: number): Promise<AuditStreamPage> {
    return this.store.readAuditStream(streamId, afterRevision, limit);
  }

  auditLog(query: AuditLogQuery, count?: (events: number) => void): Promise<AuditLines> {
    return this.store.auditLog(query, count);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
