import type { NatsConnection } from '@nats-io/transport-node';
import { eventSubject } from '@mqft/stream';
import type { TransferState } from '@mqft/state';
import type { Logger } from '@mqft/config';

/**
 * A change of a transfer's state, published on core NATS `ft.<stream>.events.<key>` for
 * the control service's Watch. Events are hints: the truth stays in Redis, and a watcher
 * that missed one re-reads the transfer.
 */
export interface TransferEvent {
  key: string;
  state: TransferState;
  /** Why it failed, when it did (a reason description). */
  reason?: string;
  location?: string;
  at: number;
}

export interface EventPublisher {
  publish(event: Omit<TransferEvent, 'at'>): void;
}

export function createEventPublisher(
  nc: NatsConnection,
  stream: string,
  logger: Logger,
): EventPublisher {
  return {
    publish(event) {
      try {
        nc.publish(eventSubject(stream, event.key), JSON.stringify({ ...event, at: Date.now() }));
      } catch (err) {
        logger.warn({ err, key: event.key }, 'event not published');
      }
    },
  };
}
