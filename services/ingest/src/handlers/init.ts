import { isProtocolError, parseFileMeta } from '@mqft/protocol';
import type { Handler } from './types.js';

/**
 * init: the metadata is checked here (a malformed one is answered at once) but stored as the
 * device sent it. The Nats-Msg-Id is per publish (publisher.ts), so a repeated init is stored
 * again: a resume the assembler answers again.
 */
export const handleInit: Handler<'init'> = ({ payload, key, reply }, limits) => {
  try {
    parseFileMeta(payload, {
      maxFileSize: limits.maxFileSize,
      maxBytes: limits.maxFilemetaBytes,
      maxDepth: limits.maxFilemetaDepth,
    });
  } catch (err) {
    if (isProtocolError(err)) return { action: 'reject', error: err };
    throw err;
  }
  // The filemeta goes in a header as well: the assemblers' consumer delivers headers only.
  const command = { kind: 'init', key, reply, filemeta: payload } as const;
  return { action: 'store', messages: [{ command, body: payload }] };
};
