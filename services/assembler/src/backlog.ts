import type { JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '@mqft/config';
import type { AssemblerMetrics } from './metrics.js';

/** How often the backlog gauges are refreshed (every replica asks NATS). */
export const BACKLOG_POLL_MS = 5000;

/** Publishes the shared consumer's backlog as gauges (the HPA scales assemblers on it). */
export function watchConsumerBacklog(
  jsm: JetStreamManager,
  stream: string,
  durable: string,
  metrics: AssemblerMetrics,
  logger: Logger,
  intervalMs = BACKLOG_POLL_MS,
): () => void {
  const timer = setInterval(() => {
    jsm.consumers
      .info(stream, durable)
      .then((info) => {
        metrics.consumerPending.set(info.num_pending);
        metrics.consumerAckPending.set(info.num_ack_pending);
      })
      .catch((err: unknown) => logger.debug({ err }, 'consumer info unavailable'));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
