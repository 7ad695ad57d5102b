export {
  assertRedisPrefix,
  clientActiveKey,
  clientCreatedIndexKey,
  createdIndexKey,
  dueIndexKey,
  rebuildLockKey,
  stateEpochKey,
  transferKeys,
  type TransferKeys,
} from './keys.js';
export { createRedis, redisReady, type RedisClient } from './redis.js';
export { ALL_SCRIPTS, type ScriptDefinition } from './scripts.js';
export {
  parseSegmentMap,
  parseTransferRecord,
  type SegmentLocation,
  type TransferRecord,
  type TransferState,
} from './transfer-record.js';
export { TransferStore, type Lease } from './transfer-store.js';
export {
  TransferQueries,
  type IndexCursor,
  type IndexedTransfer,
  type IndexScan,
} from './transfer-queries.js';
