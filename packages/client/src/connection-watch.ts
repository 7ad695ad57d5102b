import type { MqttClient } from 'mqtt';

/**
 * Calls `onTimeout` when `client` stays disconnected for `limitMs` (never when the limit is
 * undefined). Returns the function that stops watching.
 */
export function watchOffline(
  client: MqttClient,
  limitMs: number | undefined,
  onTimeout: (limitMs: number) => void,
): () => void {
  if (limitMs === undefined) return () => undefined;
  let timer: NodeJS.Timeout | undefined;
  const onClose = () => {
    timer ??= setTimeout(() => onTimeout(limitMs), limitMs);
  };
  const onConnect = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  client.on('close', onClose);
  client.on('connect', onConnect);
  if (!client.connected) onClose();
  return () => {
    clearTimeout(timer);
    client.off('close', onClose);
    client.off('connect', onConnect);
  };
}
