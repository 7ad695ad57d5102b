import type { NatsConnection } from '@nats-io/transport-node';

interface StatusLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * Follows a NATS connection's status for readiness: the client reconnects forever, so
 * `isClosed()` alone never says that the server is gone. `onChange` hears every transition
 * (disconnected, reconnected, closed for good).
 */
export function watchNatsConnection(
  nc: NatsConnection,
  logger: StatusLogger,
  onChange?: (connected: boolean) => void,
): { readonly connected: boolean } {
  const state = { connected: true };
  const set = (connected: boolean) => {
    if (state.connected === connected) return;
    state.connected = connected;
    onChange?.(connected);
  };
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        logger.warn({ server: status.server }, 'nats disconnected');
        set(false);
      } else if (status.type === 'reconnect') {
        logger.info({ server: status.server }, 'nats reconnected');
        set(true);
      } else if (status.type === 'error') {
        logger.warn({ err: status.error }, 'nats error');
      }
    }
  })().catch((err: unknown) => logger.error({ err }, 'nats status watch failed'));
  void nc
    .closed()
    .then(() => set(false))
    .catch((err: unknown) => logger.error({ err }, 'nats close watch failed'));
  return state;
}
