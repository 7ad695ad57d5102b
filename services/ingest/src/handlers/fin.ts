import { ProtocolError } from '@mqft/protocol';
import type { Handler } from './types.js';

/**
 * fin: only the size limit is checked here; completeness and the checksum are the
 * assembler's to judge, and it answers. The Nats-Msg-Id is per publish (publisher.ts), so a
 * device's resent fin is a new stream message and is evaluated again.
 */
export const handleFin: Handler<'fin'> = ({ command, key, reply }, limits) => {
  if (command.size > limits.maxFileSize) {
    const why = `fin size ${command.size} is larger than the ${limits.maxFileSize} allowed`;
    return { action: 'reject', error: new ProtocolError('file_too_large', why) };
  }
  const stored = { kind: 'fin' as const, key, size: command.size, reply };
  const withChecksum =
    command.checksum === undefined ? stored : { ...stored, checksum: command.checksum };
  return { action: 'store', messages: [{ command: withChecksum, body: new Uint8Array(0) }] };
};
