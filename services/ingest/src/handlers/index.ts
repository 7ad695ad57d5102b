import type { CommandKind } from '@mqft/protocol';
import { handleAbort } from './abort.js';
import { handleFin } from './fin.js';
import { handleInit } from './init.js';
import { handleSegment } from './segment.js';
import type { Handler, HandlerLimits, IncomingCommand, Plan } from './types.js';

export type { Handler, HandlerLimits, IncomingCommand, Plan, StreamMessage } from './types.js';

/** One handler per command kind; a new kind without a handler is a type error. */
export const HANDLERS: { readonly [K in CommandKind]: Handler<K> } = {
  init: handleInit,
  segment: handleSegment,
  fin: handleFin,
  abort: handleAbort,
};

export function planCommand(incoming: IncomingCommand, limits: HandlerLimits): Plan {
  // The table is keyed by kind, so the handler matches the command it is given.
  const handler = HANDLERS[incoming.command.kind] as Handler<CommandKind>;
  return handler(incoming, limits);
}
