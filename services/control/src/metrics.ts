import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createWebhookMetrics, type WebhookMetrics } from './webhooks/metrics.js';

export interface ControlMetrics {
  /** Calls by method and gRPC status code (name, e.g. OK, NOT_FOUND). */
  rpcs: Counter<'method' | 'code'>;
  /** Call latency by method; a Watch counts until its stream ends. */
  rpcSeconds: Histogram<'method'>;
  /** WatchTransfers streams open now. */
  watchStreams: Gauge;
  /** Messages sent on server streams, by method. */
  streamMessages: Counter<'method'>;
  /** Webhook delivery (MQFT_WEBHOOK_URL): registered whether it runs or not. */
  webhook: WebhookMetrics;
  /** HTTP API requests by route template (bounded), method and status code. */
  httpRequests: Counter<'route' | 'method' | 'code'>;
  /** HTTP API latency by route template and method; an event stream counts until it ends. */
  httpSeconds: Histogram<'route' | 'method'>;
  /** Server-Sent Events streams (GET /api/v1/events) open now. */
  httpEventStreams: Gauge;
}

const SECONDS_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600,
];

export function createControlMetrics(registry: Registry): ControlMetrics {
  return {
    rpcs: new Counter({
      name: 'mqft_control_rpc_total',
      help: 'gRPC calls handled, by method and status code',
      labelNames: ['method', 'code'],
      registers: [registry],
    }),
    rpcSeconds: new Histogram({
      name: 'mqft_control_rpc_duration_seconds',
      help: 'gRPC call latency by method (a Watch: how long its stream was open)',
      labelNames: ['method'],
      buckets: SECONDS_BUCKETS,
      registers: [registry],
    }),
    watchStreams: new Gauge({
      name: 'mqft_control_watch_streams',
      help: 'WatchTransfers streams open',
      registers: [registry],
    }),
    streamMessages: new Counter({
      name: 'mqft_control_stream_messages_total',
      help: 'messages sent on server streams (WatchTransfers), by method',
      labelNames: ['method'],
      registers: [registry],
    }),
    webhook: createWebhookMetrics(registry),
    httpRequests: new Counter({
      name: 'mqft_control_http_requests_total',
      help: 'HTTP API requests handled, by route template, method and status code',
      labelNames: ['route', 'method', 'code'],
      registers: [registry],
    }),
    httpSeconds: new Histogram({
      name: 'mqft_control_http_request_duration_seconds',
      help: 'HTTP API latency by route template and method (an event stream: how long it was open)',
      labelNames: ['route', 'method'],
      buckets: SECONDS_BUCKETS,
      registers: [registry],
    }),
    httpEventStreams: new Gauge({
      name: 'mqft_control_http_event_streams',
      help: 'Server-Sent Events streams (GET /api/v1/events) open',
      registers: [registry],
    }),
  };
}
