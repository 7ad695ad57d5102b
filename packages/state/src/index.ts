export {
  assertRedisPrefix,
  clientActiveKey,
  clientCreatedIndexKey,
  clientPartOf,
  createdIndexKey,
  dueIndexKey,
  rebuildLockKey,
  retentionKeys,
  stateEpochKey,
  transferKeys,
  type TransferKeys,
} from './keys.js';
export { createRedis, redisReady, type RedisClient } from './redis.js';
export {
  defineScript,
  ReplyReader,
  ScriptReplyError,
  ScriptRunner,
  type ScriptArgs,
  type ScriptDefinition,
  type ScriptKeys,
} from './script.js';
export { ALL_SCRIPTS, RELEASE_MODES, scriptRunner, type ReleaseMode } from './scripts.js';
export {
  parseSegmentIndex,
  parseTransferRecord,
  readTransfer,
  recordFromHash,
  type SegmentLocation,
  type TransferRecord,
  type TransferState,
} from './transfer-record.js';
export { COMPLETE_KEEP_MS, TransferStore, type Lease } from './transfer-store.js';
export { DueIndex } from './due-index.js';
export { RetentionIndex, type ClaimedDeletion, type ScheduledDeletion } from './retention-index.js';
export { ClientQuotas } from './client-quotas.js';
export { CreatedIndexes, type CreatedIndexLimits } from './created-indexes.js';
export { RebuildLock, StateEpoch } from './rebuild-lock.js';
export {
  TransferQueries,
  type IndexCursor,
  type IndexedTransfer,
  type IndexScan,
} from './transfer-queries.js';
