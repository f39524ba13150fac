/**
 * OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (libs/config). On,
 * the OpenTelemetry Node SDK exports spans over OTLP/HTTP: a SERVER span per HTTP request
 * (continuing the caller's `traceparent`), an append span, a PRODUCER span per record the
 * Kafka relay publishes. The trace crosses processes in the events themselves: a request's
 * span's `traceparent` is recorded in the metadata of the events it causes, and the relay
 * continues it into each record's `traceparent` header (ADR 029).
 *
 * No context is propagated implicitly: every span names its parent (a `traceparent`), and
 * the SDK gets a synchronous context manager instead of its AsyncLocalStorage one, whose
 * promise hook on every promise of the process cost a fifth of the sends a second in
 * bench:chat (ADR 014). Off, none of this runs: `startSpan` answers undefined and the
 * `traceparent` a client sent is recorded as given.
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type ContextManager,
  type Link,
  type Span,
  type SpanContext,
  type TextMapGetter,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import type { TracingConfig } from '@herald/config';

export { SpanKind };
export type { Span };

/**
 * The active context only for the synchronous extent of `with`: enough for the SDK's own
 * uses (an exporter suppressing tracing of its request), and free of async hooks.
 */
export class SyncContextManager implements ContextManager {
  private current: Context = ROOT_CONTEXT;

  active(): Context {
    return this.current;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    const previous = this.current;
    this.current = ctx;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.current = previous;
    }
  }

  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the bound function keeps its own `this`
    const manager = this;
    const fn = target as unknown as (...args: unknown[]) => unknown;
    return function (this: unknown, ...args: unknown[]) {
      return manager.with(ctx, () => fn.apply(this, args));
    } as unknown as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.current = ROOT_CONTEXT;
    return this;
  }
}

const propagator = new W3CTraceContextPropagator();
const getter: TextMapGetter<Readonly<Record<string, string | undefined>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

let sdk: NodeSDK | undefined;
let enabled = false;
const tracer = () => trace.getTracer('herald');

/** Whether spans are recorded in this process. */
export const tracingEnabled = (): boolean => enabled;

export interface TracingOptions {
  /** The app's `service.name` when OTEL_SERVICE_NAME does not give one. */
  readonly serviceName: string;
  /** Tests: spans go here (synchronously), whether or not the config names an endpoint. */
  readonly exporter?: SpanExporter;
}

/**
 * Starts the SDK when the config (or a test's exporter) asks for it; returns how to flush
 * and stop it. Once per process.
 */
export function startTracing(
  config: TracingConfig | undefined,
  options: TracingOptions,
): { readonly enabled: boolean; shutdown(): Promise<void> } {
  if (!config && !options.exporter) return { enabled: false, shutdown: () => Promise.resolve() };
  if (sdk) throw new Error('tracing is started already');
  const exporter = options.exporter ?? new OTLPTraceExporter({ url: `${config!.endpoint}/v1/traces` });
  sdk = new NodeSDK({
    resource: resourceFromAttributes({ 'service.name': config?.serviceName ?? options.serviceName }),
    autoDetectResources: false,
    spanProcessors: [options.exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter)],
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config?.sampleRatio ?? 1) }),
    contextManager: new SyncContextManager(),
    textMapPropagator: propagator,
    instrumentations: [],
  });
  sdk.start();
  enabled = true;
  return {
    enabled: true,
    shutdown: async () => {
      const stopping = sdk;
      sdk = undefined;
      enabled = false;
      await stopping?.shutdown();
    },
  };
}

/** The context a `traceparent` (and its `tracestate`) continue; the root context when absent or invalid. */
export function contextOf(traceparent: string | undefined, tracestate?: string): Context {
  if (!traceparent) return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, { traceparent, tracestate }, getter);
}

/** A span's context as a W3C `traceparent` (version 00). */
export function traceparentOf(spanContext: SpanContext): string {
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

export interface SpanOptions {
  readonly kind: SpanKind;
  /** The parent: a `traceparent`; none starts a new trace. */
  readonly parent?: string | undefined;
  readonly attributes?: Attributes;
  readonly links?: Link[];
}

/** Starts a span when tracing is on; undefined when off (nothing to end). */
export function startSpan(name: string, options: SpanOptions): Span | undefined {
  if (!enabled) return undefined;
  return tracer().startSpan(
    name,
    {
      kind: options.kind,
      ...(options.attributes ? { attributes: options.attributes } : {}),
      ...(options.links ? { links: options.links } : {}),
    },
    contextOf(options.parent),
  );
}

/** Ends a span, marking it failed when `error` is given. */
export function endSpan(span: Span | undefined, error?: unknown): void {
  if (!span) return;
  if (error !== undefined) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' });
  }
  span.end();
}

/** A link to the trace a `traceparent` names, or undefined when it names none. */
export function linkTo(traceparent: string | undefined): Link | undefined {
  if (!traceparent) return undefined;
  const spanContext = trace.getSpanContext(contextOf(traceparent));
  return spanContext ? { context: spanContext } : undefined;
}

export { SpanStatusCode };
