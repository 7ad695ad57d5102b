import { ProtocolError, sha256Hex } from '@mqft/protocol';
import { splitSegment } from '../segments.js';
import type { Handler, StreamMessage } from './types.js';

/**
 * segment: checked, verified, split to fit NATS messages, and answered by ingest itself once
 * every part is durable (the assembler answers one again only when the transfer failed: the
 * segment past MQFT_MAX_SEGMENTS_PER_TRANSFER, and every later one).
 */
export const handleSegment: Handler<'segment'> = ({ command, payload, key, reply }, limits) => {
  const size = payload.byteLength;
  if (size > limits.maxSegmentSize) {
    const why = `segment of ${size} bytes is larger than the ${limits.maxSegmentSize} allowed`;
    return { action: 'reject', error: new ProtocolError('invalid_file_command', why) };
  }
  if (command.offset + size > limits.maxFileSize) {
    const why = `segment ends at ${command.offset + size}, past the ${limits.maxFileSize} allowed`;
    return { action: 'reject', error: new ProtocolError('file_too_large', why) };
  }
  // Hashing is the costliest step per segment: only when the device asked for a check.
  if (command.checksum !== undefined) {
    const digest = sha256Hex(payload);
    if (command.checksum !== digest) {
      const why = `payload SHA-256 is ${digest}, the topic says ${command.checksum}`;
      return { action: 'reject', error: new ProtocolError('checksum_mismatch', why) };
    }
  }
  const messages: StreamMessage[] = splitSegment(payload, command.offset, limits.maxPartBytes).map(
    (part) => ({
      // The reply, so that the assembler can answer a segment past the transfer's cap.
      command: { kind: 'seg', key, offset: part.offset, reply },
      body: part.body,
    }),
  );
  return { action: 'store', messages, answer: 'success' };
};
