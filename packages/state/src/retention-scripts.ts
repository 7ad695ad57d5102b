import { defineScript } from './script.js';

/*
 * The retention index (retention-index.ts): a sorted set of transfer keys scored by when
 * their stored file goes, and a hash of what is needed to delete it (the record may have
 * lapsed by then). Both keys share one hash tag.
 */

/** Schedules (or moves) the deletion of a transfer's stored file. */
export const scheduleDeletion = defineScript({
  name: 'mqftScheduleDeletion',
  keys: ['at', 'files'],
  argv: ['transferKey', 'deleteAt', 'file'],
  body: `
redis.call('ZADD', K.at, A.deleteAt, A.transferKey)
redis.call('HSET', K.files, A.transferKey, A.file)
return 1
`,
  decode: (r) => r.flag(),
});

/**
 * Up to `limit` deletions due by `now`, each claimed until `claimUntil` (its score moves there:
 * other sweepers skip it meanwhile, and it is due again if its deleter dies). Answers
 * [key, file, key, file, …].
 */
export const claimDeletions = defineScript({
  name: 'mqftClaimDeletions',
  keys: ['at', 'files'],
  argv: ['now', 'limit', 'claimUntil'],
  body: `
local keys = redis.call('ZRANGEBYSCORE', K.at, '-inf', A.now, 'LIMIT', 0, tonumber(A.limit))
local out = {}
for _, k in ipairs(keys) do
  redis.call('ZADD', K.at, A.claimUntil, k)
  out[#out + 1] = k
  out[#out + 1] = redis.call('HGET', K.files, k) or ''
end
return out
`,
  decode: (r) => r.strings(),
});

/**
 * A claimed deletion is done: removed, unless it was scheduled anew meanwhile (a later upload
 * of the same file id completed: its score is no longer the claim's).
 */
export const finishDeletion = defineScript({
  name: 'mqftFinishDeletion',
  keys: ['at', 'files'],
  argv: ['transferKey', 'claimUntil'],
  body: `
if redis.call('ZSCORE', K.at, A.transferKey) ~= A.claimUntil then return 0 end
redis.call('ZREM', K.at, A.transferKey)
redis.call('HDEL', K.files, A.transferKey)
return 1
`,
  decode: (r) => r.flag(),
});

/** Notes on a complete transfer's record when its file goes (the API shows it). */
export const markDeletion = defineScript({
  name: 'mqftMarkDeletion',
  keys: ['meta'],
  argv: ['completedAt', 'deleteAt'],
  body: `
if redis.call('HGET', K.meta, 'completedAt') ~= A.completedAt then return 0 end
redis.call('HSET', K.meta, 'deleteAt', A.deleteAt)
return 1
`,
  decode: (r) => r.flag(),
});

/**
 * Drops the record of the transfer whose file retention deleted, unless it is another
 * transfer's now (a later upload of the same file id: another completedAt, or none yet).
 */
export const forgetDeleted = defineScript({
  name: 'mqftForgetDeleted',
  keys: ['meta', 'segs', 'lease'],
  argv: ['completedAt'],
  body: `
if redis.call('HGET', K.meta, 'completedAt') ~= A.completedAt then return 0 end
redis.call('DEL', K.meta, K.segs, K.lease)
return 1
`,
  decode: (r) => r.flag(),
});
