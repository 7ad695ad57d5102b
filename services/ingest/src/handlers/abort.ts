import type { Handler } from './types.js';

/** abort: stored for the assembler, which cleans up and answers. No msgID: every abort counts. */
export const handleAbort: Handler<'abort'> = ({ key, reply }) => ({
  action: 'store',
  messages: [{ command: { kind: 'abort', key, reply }, body: new Uint8Array(0) }],
});
