/**
 * What every app exports about itself: Prometheus metrics (`/metrics`, prom-client),
 * OpenTelemetry traces (off unless configured), and the operations endpoints of the apps
 * that serve no API.
 */
export * from './fast-metrics.js';
export * from './herald-metrics.js';
export * from './http-metrics.js';
export * from './metered-event-store.js';
export * from './ops-server.js';
export * from './tracing.js';
