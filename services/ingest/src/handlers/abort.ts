import type { Handler } from './types.js';

/**
 * abort: stored for the assembler, which cleans up and answers. Like every stream message it
 * gets a Nats-Msg-Id per publish (publisher.ts), so only ingest's own retries are deduplicated:
 * a device's resent abort is stored and answered again.
 */
export const handleAbort: Handler<'abort'> = ({ key, reply }) => ({
  action: 'store',
  messages: [{ command: { kind: 'abort', key, reply }, body: new Uint8Array(0) }],
});
