export {
  commandSubject,
  commandSubjects,
  eventSubject,
  eventSubjects,
  outcomeSubject,
  outcomeSubjects,
  deadLetterSubject,
  deadLetterSubjects,
  keyOfSubject,
  assertStreamName,
} from './subjects.js';
export {
  decodeCommandHeaders,
  decodeReply,
  encodeCommandHeaders,
  encodeReply,
  EnvelopeError,
  carriesBody,
  storedBodySize,
  type ReplyTo,
  type StreamCommand,
  type StreamCommandKind,
} from './envelope.js';
export {
  DUPLICATE_WINDOW_MS,
  ensureAssemblerConsumer,
  ensureCommandStream,
  safeLimit,
  type ProvisionedStream,
  type StreamSettings,
} from './provision.js';
export { connectNats } from './connect.js';
export { watchNatsConnection } from './connection-state.js';
export { deleteStreamMessage, purgeLeftovers, purgeSubject } from './purge.js';
export { isStreamFullError } from './refusal.js';
export {
  ensureOutcomeStream,
  OUTCOME_KINDS,
  outcomeId,
  outcomeStreamName,
  publishOutcome,
  type OutcomeKind,
  type OutcomeStreamSettings,
  type TransferOutcome,
} from './outcomes.js';
