import type { NatsConnection } from '@nats-io/transport-node';

interface StatusLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * Follows a NATS connection's status for readiness: the client reconnects forever, so
 * `isClosed()` alone never says that the server is gone.
 */
export function watchNatsConnection(
  nc: NatsConnection,
  logger: StatusLogger,
): { readonly connected: boolean } {
  const state = { connected: true };
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        state.connected = false;
        logger.warn({ server: status.server }, 'nats disconnected');
      } else if (status.type === 'reconnect') {
        state.connected = true;
        logger.info({ server: status.server }, 'nats reconnected');
      } else if (status.type === 'error') {
        logger.warn({ err: status.error }, 'nats error');
      }
    }
  })();
  void nc.closed().then(() => {
    state.connected = false;
  });
  return state;
}
