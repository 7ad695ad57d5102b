import { JetStreamApiError } from '@nats-io/jetstream';

/**
 * JetStream refuses a publish for lack of room: the stream reached its `max_bytes` (discard
 * new) or the server's JetStream storage is exhausted. nats-server 2.9 answers
 * `{"code":503,"err_code":10077,"description":"maximum bytes exceeded"}` (reproduced on
 * 2.9.10 with a 4 KiB stream; nats.js 3.x throws it as a JetStreamApiError), and
 * `insufficient resources` (err_code 10023) when the volume is full. Retrying at once does not
 * help: only assemblies that finish (and purge their segments) make room.
 */
export function isStreamFullError(err: unknown): boolean {
  if (!(err instanceof JetStreamApiError)) return false;
  const { err_code: code, description } = err.apiError();
  return (
    code === 10023 ||
    /maximum bytes exceeded|maximum messages exceeded|insufficient resources/i.test(description)
  );
}
