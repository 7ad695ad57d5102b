/**
 * The Lua scripts that change one transfer's state. Each touches only the keys of ONE
 * transfer (one `{key}` hash tag) or one index key, so each works on Redis Cluster.
 * `numberOfKeys` and the KEYS order are part of each script's contract (see transfer-store.ts).
 *
 * A transfer is "ready" when its facts are all present: init metadata, fin, and at least fin's
 * size in recorded bytes (a cheap O(1) necessary condition; the lease holder checks exact
 * coverage once, from the segment map).
 */
export interface ScriptDefinition {
  readonly name: string;
  readonly numberOfKeys: number;
  readonly lua: string;
}

const READY = `
local function is_ready(meta)
  local m = redis.call('HMGET', meta, 'canonical', 'finSize', 'bytes', 'state')
  return m[1] and m[2] and tonumber(m[3] or '0') >= tonumber(m[2]) and m[4] == 'receiving'
end
local function touch(meta, now)
  if redis.call('HSETNX', meta, 'state', 'receiving') == 1 then
    redis.call('HSET', meta, 'createdAt', now, 'bytes', 0, 'segCount', 0)
  end
  redis.call('HSET', meta, 'updatedAt', now)
end
local function expire(meta, segs, fallback_ttl)
  local ttl = tonumber(redis.call('HGET', meta, 'ttlMs') or fallback_ttl)
  redis.call('PEXPIRE', meta, ttl)
  if segs then redis.call('PEXPIRE', segs, ttl) end
end
`;

/**
 * KEYS: meta, segs. ARGV: offset, seq, length, now, ttlMs.
 * Returns {status, superseded}: ready | recorded (superseded: the stream sequence of the copy
 * this one replaced and no assembly reads, '' if none) | duplicate (nothing references this
 * message: a copy older than the recorded one, or one below the seqFloor a reset set) |
 * complete | aborted | failed.
 */
export const recordSegment: ScriptDefinition = {
  name: 'mqftRecordSegment',
  numberOfKeys: 2,
  lua: `${READY}
local meta, segs = KEYS[1], KEYS[2]
local state = redis.call('HGET', meta, 'state')
if state == 'complete' or state == 'aborted' or state == 'failed' then return {state, ''} end
local seq, len = tonumber(ARGV[2]), tonumber(ARGV[3])
-- a copy from before a reset (redelivered late): its attempt was dropped and purged
if seq < tonumber(redis.call('HGET', meta, 'seqFloor') or '0') then return {'duplicate', ''} end
local prev = redis.call('HGET', segs, ARGV[1])
local superseded = ''
if prev then
  local pseq, plen = string.match(prev, '^(%d+):(%d+)$')
  pseq = tonumber(pseq)
  -- the recorded copy redelivered: nothing changes
  if pseq == seq then return {is_ready(meta) and 'ready' or 'recorded', ''} end
  -- an older copy arriving late
  if pseq > seq then return {'duplicate', ''} end
  -- a later copy replaces an earlier one (docs/protocol.md); the earlier one may be deleted at
  -- once, unless an assembly is reading it (then the purge at completion deletes it)
  touch(meta, ARGV[4])
  redis.call('HINCRBY', meta, 'bytes', len - tonumber(plen))
  if state ~= 'assembling' then superseded = tostring(pseq) end
else
  touch(meta, ARGV[4])
  redis.call('HINCRBY', meta, 'bytes', len)
  redis.call('HINCRBY', meta, 'segCount', 1)
end
redis.call('HSET', segs, ARGV[1], ARGV[2] .. ':' .. ARGV[3])
expire(meta, segs, ARGV[5])
return {is_ready(meta) and 'ready' or 'recorded', superseded}
`,
};

/**
 * KEYS: meta, segs. ARGV: canonical, filemetaJson, name, clientId, fileId, now, ttlMs,
 * declaredSize ('' if none), checksum ('' if none).
 * Returns {status, ready}: status created | same | conflict | aborted | complete.
 */
export const recordInit: ScriptDefinition = {
  name: 'mqftRecordInit',
  numberOfKeys: 2,
  lua: `${READY}
local meta, segs = KEYS[1], KEYS[2]
local cur = redis.call('HMGET', meta, 'canonical', 'state')
if cur[2] == 'aborted' then return {'aborted', 0} end
if cur[1] then
  if cur[1] ~= ARGV[1] then return {'conflict', 0} end
  if cur[2] == 'complete' then return {'complete', 0} end
  return {'same', is_ready(meta) and 1 or 0}
end
touch(meta, ARGV[6])
redis.call('HSET', meta, 'canonical', ARGV[1], 'filemeta', ARGV[2], 'name', ARGV[3],
  'clientId', ARGV[4], 'fileId', ARGV[5], 'ttlMs', ARGV[7])
if ARGV[8] ~= '' then redis.call('HSET', meta, 'declaredSize', ARGV[8]) end
if ARGV[9] ~= '' then redis.call('HSET', meta, 'initChecksum', ARGV[9]) end
expire(meta, segs, ARGV[7])
return {'created', is_ready(meta) and 1 or 0}
`,
};

/**
 * KEYS: meta, segs. ARGV: size, checksum ('' if none), reply, now, ttlMs, clientId, fileId.
 * Returns {status, location-or-finAt}: status complete (with the location) | aborted | failed |
 * assembling | ready | waiting (these with the first fin's time, from which the grace runs).
 */
export const recordFin: ScriptDefinition = {
  name: 'mqftRecordFin',
  numberOfKeys: 2,
  lua: `${READY}
local meta, segs = KEYS[1], KEYS[2]
local state = redis.call('HGET', meta, 'state')
if state == 'complete' then return {'complete', redis.call('HGET', meta, 'location') or ''} end
if state == 'aborted' or state == 'failed' then return {state, ''} end
touch(meta, ARGV[4])
redis.call('HSET', meta, 'finSize', ARGV[1], 'finReply', ARGV[3])
-- The grace runs from the first fin: a device retransmitting fin (no answer within its
-- timeout) must not push the deadline ahead forever, or it never learns what is missing.
redis.call('HSETNX', meta, 'finAt', ARGV[4])
redis.call('HSETNX', meta, 'clientId', ARGV[6])
redis.call('HSETNX', meta, 'fileId', ARGV[7])
if ARGV[2] ~= '' then redis.call('HSET', meta, 'finChecksum', ARGV[2]) else redis.call('HDEL', meta, 'finChecksum') end
expire(meta, segs, ARGV[5])
local fin_at = redis.call('HGET', meta, 'finAt')
if state == 'assembling' then return {'assembling', fin_at} end
return {is_ready(meta) and 'ready' or 'waiting', fin_at}
`,
};

/**
 * KEYS: meta, segs, lease. ARGV: now, ttlMs, clientId, fileId.
 * Returns {status, uploadId, finReply}: status aborted | complete (a complete transfer stays
 * complete); finReply is the reply of a fin that was still waiting, '' if none.
 */
export const recordAbort: ScriptDefinition = {
  name: 'mqftRecordAbort',
  numberOfKeys: 3,
  lua: `
local meta, segs, lease = KEYS[1], KEYS[2], KEYS[3]
local state = redis.call('HGET', meta, 'state')
if state == 'complete' then return {'complete', ''} end
local upload = redis.call('HGET', meta, 'uploadId') or ''
-- A fin still waiting for its answer gets one: the transfer is aborted.
local fin_reply = redis.call('HGET', meta, 'finReply') or ''
redis.call('DEL', segs, lease)
if not state then redis.call('HSET', meta, 'createdAt', ARGV[1]) end
redis.call('HSET', meta, 'state', 'aborted', 'updatedAt', ARGV[1], 'bytes', 0, 'segCount', 0)
redis.call('HSETNX', meta, 'clientId', ARGV[3])
redis.call('HSETNX', meta, 'fileId', ARGV[4])
redis.call('HDEL', meta, 'finReply', 'finSize', 'finAt', 'finChecksum', 'uploadId')
redis.call('PEXPIRE', meta, tonumber(ARGV[2]))
return {'aborted', upload, fin_reply}
`,
};

/**
 * KEYS: meta, lease. ARGV: owner, leaseTtlMs, now.
 * Returns {status, token}: acquired | busy | not_ready (with the state).
 */
export const acquireLease: ScriptDefinition = {
  name: 'mqftAcquireLease',
  numberOfKeys: 2,
  lua: `
local meta, lease = KEYS[1], KEYS[2]
local m = redis.call('HMGET', meta, 'state', 'canonical', 'finSize', 'bytes')
if m[1] ~= 'receiving' and m[1] ~= 'assembling' then return {'not_ready', m[1] or ''} end
if not m[2] or not m[3] or tonumber(m[4] or '0') < tonumber(m[3]) then return {'not_ready', m[1]} end
if redis.call('EXISTS', lease) == 1 then return {'busy', ''} end
local token = redis.call('HINCRBY', meta, 'leaseEpoch', 1)
redis.call('SET', lease, token .. ':' .. ARGV[1], 'PX', tonumber(ARGV[2]))
redis.call('HSET', meta, 'state', 'assembling', 'updatedAt', ARGV[3])
return {'acquired', tostring(token)}
`,
};

/** KEYS: lease. ARGV: leaseValue, leaseTtlMs. Returns 1 while the lease is still ours. */
export const renewLease: ScriptDefinition = {
  name: 'mqftRenewLease',
  numberOfKeys: 1,
  lua: `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
`,
};

/** KEYS: meta, lease. ARGV: leaseValue, uploadId. Records the upload a successor must abort. */
export const recordUpload: ScriptDefinition = {
  name: 'mqftRecordUpload',
  numberOfKeys: 2,
  lua: `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'uploadId', ARGV[2])
return 1
`,
};

/**
 * KEYS: meta, segs, lease. ARGV: leaseValue, location, size, checksum, now, keepMs.
 * Returns {status, finReply}: complete | lost (the lease was not ours any more).
 */
export const completeTransfer: ScriptDefinition = {
  name: 'mqftCompleteTransfer',
  numberOfKeys: 3,
  lua: `
local meta, segs, lease = KEYS[1], KEYS[2], KEYS[3]
if redis.call('GET', lease) ~= ARGV[1] or redis.call('HGET', meta, 'state') ~= 'assembling' then
  return {'lost', ''}
end
local reply = redis.call('HGET', meta, 'finReply') or ''
redis.call('HSET', meta, 'state', 'complete', 'location', ARGV[2], 'size', ARGV[3],
  'checksum', ARGV[4], 'completedAt', ARGV[5], 'updatedAt', ARGV[5])
redis.call('HDEL', meta, 'uploadId', 'finReply', 'errorReason', 'missing')
redis.call('DEL', segs, lease)
redis.call('PEXPIRE', meta, tonumber(ARGV[6]))
return {'complete', reply}
`,
};

/**
 * Marks complete, without a lease, a 'receiving' transfer whose verified file storage already
 * holds: its completion was recorded in a Redis that was then lost, and replaying the stream
 * while its messages were being purged rebuilt only part of it (test/chaos, redis-loss).
 * KEYS: meta, segs, lease. ARGV: location, size, checksum, now, keepMs.
 * Returns {status, finReply}: complete | skipped (with the state; leased or not receiving).
 */
export const completeStored: ScriptDefinition = {
  name: 'mqftCompleteStored',
  numberOfKeys: 3,
  lua: `
local meta, segs, lease = KEYS[1], KEYS[2], KEYS[3]
local state = redis.call('HGET', meta, 'state')
if state ~= 'receiving' or redis.call('EXISTS', lease) == 1 then return {'skipped', state or ''} end
local reply = redis.call('HGET', meta, 'finReply') or ''
redis.call('HSET', meta, 'state', 'complete', 'location', ARGV[1], 'size', ARGV[2],
  'checksum', ARGV[3], 'completedAt', ARGV[4], 'updatedAt', ARGV[4])
redis.call('HDEL', meta, 'uploadId', 'finReply', 'errorReason', 'missing')
redis.call('DEL', segs)
redis.call('PEXPIRE', meta, tonumber(ARGV[5]))
return {'complete', reply}
`,
};

/**
 * The lease holder gives the transfer back to 'receiving'. KEYS: meta, segs, lease.
 * ARGV: leaseValue, mode, reason, now, missing (JSON, '' if none), seqFloor ('' if none).
 * mode: 'wait' keeps the fin (more segments may come within the grace),
 *       'fail_fin' drops the fin (the device must send the missing ranges, then fin again),
 *       'reset' drops the fin and every segment (checksum mismatch, segments lost), and
 *       records seqFloor: the stream messages below it are being purged, so a late copy of
 *       one is never recorded again (it would be missing at the next assembly).
 * Returns {status, finReply}: released | lost.
 */
export const releaseTransfer: ScriptDefinition = {
  name: 'mqftReleaseTransfer',
  numberOfKeys: 3,
  lua: `
local meta, segs, lease = KEYS[1], KEYS[2], KEYS[3]
if redis.call('GET', lease) ~= ARGV[1] or redis.call('HGET', meta, 'state') ~= 'assembling' then
  return {'lost', ''}
end
local reply = redis.call('HGET', meta, 'finReply') or ''
redis.call('DEL', lease)
redis.call('HSET', meta, 'state', 'receiving', 'updatedAt', ARGV[4])
redis.call('HDEL', meta, 'uploadId')
if ARGV[2] ~= 'wait' then
  redis.call('HSET', meta, 'errorReason', ARGV[3])
  redis.call('HDEL', meta, 'finReply', 'finSize', 'finAt', 'finChecksum')
  if ARGV[5] ~= '' then redis.call('HSET', meta, 'missing', ARGV[5]) end
end
if ARGV[2] == 'reset' then
  redis.call('DEL', segs)
  redis.call('HSET', meta, 'bytes', 0, 'segCount', 0)
  local floor = tonumber(ARGV[6]) or 0
  if floor > tonumber(redis.call('HGET', meta, 'seqFloor') or '0') then
    redis.call('HSET', meta, 'seqFloor', floor)
  end
end
return {'released', reply}
`,
};

/**
 * The fin grace ran out without the transfer becoming ready. KEYS: meta.
 * ARGV: finAt (as read), now, missing (JSON). Only the caller that still sees the same fin
 * answers it, so one of several sweeping assemblers replies.
 * Returns {status, finReply}: expired | stale.
 */
export const expireFin: ScriptDefinition = {
  name: 'mqftExpireFin',
  numberOfKeys: 1,
  lua: `
local meta = KEYS[1]
local m = redis.call('HMGET', meta, 'finAt', 'state', 'finReply')
if m[1] ~= ARGV[1] or m[2] ~= 'receiving' then return {'stale', ''} end
redis.call('HDEL', meta, 'finReply', 'finSize', 'finAt', 'finChecksum')
redis.call('HSET', meta, 'errorReason', 'incomplete', 'missing', ARGV[3], 'updatedAt', ARGV[2])
return {'expired', m[3] or ''}
`,
};

/**
 * Per-client quota of active transfers. KEYS: the client's active set.
 * ARGV: transferKey, now, lapseAt, max. Returns 1 when admitted (or already active).
 */
export const admitTransfer: ScriptDefinition = {
  name: 'mqftAdmitTransfer',
  numberOfKeys: 1,
  lua: `
local active = KEYS[1]
redis.call('ZREMRANGEBYSCORE', active, '-inf', ARGV[2])
local known = redis.call('ZSCORE', active, ARGV[1])
if not known and redis.call('ZCARD', active) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', active, ARGV[3], ARGV[1])
redis.call('PEXPIREAT', active, ARGV[3])
return 1
`,
};

/**
 * Claims due entries: returns up to ARGV[2] keys whose time has come and pushes each one's
 * time to ARGV[3], so other sweepers do not take the same ones meanwhile.
 * KEYS: due index. ARGV: now, limit, claimUntil.
 */
export const claimDue: ScriptDefinition = {
  name: 'mqftClaimDue',
  numberOfKeys: 1,
  lua: `
local keys = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, k in ipairs(keys) do redis.call('ZADD', KEYS[1], ARGV[3], k) end
return keys
`,
};

export const ALL_SCRIPTS: readonly ScriptDefinition[] = [
  recordSegment,
  recordInit,
  recordFin,
  recordAbort,
  acquireLease,
  renewLease,
  recordUpload,
  completeTransfer,
  completeStored,
  releaseTransfer,
  expireFin,
  admitTransfer,
  claimDue,
];
