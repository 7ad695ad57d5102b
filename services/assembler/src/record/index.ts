import type { StreamCommand, StreamCommandKind } from '@mqft/stream';
import type { AssemblerContext } from '../context.js';
import { recordAbort } from './abort.js';
import { recordFin } from './fin.js';
import { recordInit } from './init.js';
import { recordSegment } from './segment.js';
import type { RecordOutcome, StoredCommand } from './types.js';

export {
  LEAVES_MESSAGE_UNREFERENCED,
  RECORD_OUTCOMES,
  type RecordOutcome,
  type StoredCommand,
} from './types.js';

type Recorder = (
  ctx: AssemblerContext,
  command: StreamCommand,
  stored: StoredCommand,
) => Promise<RecordOutcome>;

/** One handler per command kind (docs/style.md). */
export const RECORDERS: Record<StreamCommandKind, Recorder> = {
  init: recordInit,
  seg: recordSegment,
  fin: recordFin,
  abort: recordAbort,
};
