import type { RedisClient } from './redis.js';
import { defineScript, ReplyReader, ScriptRunner } from './script.js';
import * as retention from './retention-scripts.js';

/**
 * The Lua scripts of the transfer state, one typed definition each (script.ts): its KEYS, its
 * ARGV in order, and the decoder of its reply. Each touches only the keys of ONE transfer (one
 * `{key}` hash tag) or one other key, so each works on Redis Cluster
 * (test/scripts-one-slot.test.ts).
 *
 * A transfer is "ready" when its facts are all present: init metadata, fin, and at least fin's
 * size in recorded bytes (a cheap O(1) necessary condition; the lease holder checks exact
 * coverage once, from the segment map).
 *
 * A segment, fin or abort for a transfer Redis does not know creates its state only when
 * called with `create` = 1: without it, the script answers 'unknown' and writes nothing, so
 * that the caller can first count the transfer against its client's quota (client-quotas.ts).
 */

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

/** A reply {status, text}: the status checked against `allowed`, the text '' when absent. */
function statusAndText<const S extends string>(r: ReplyReader, allowed: readonly S[]) {
  const [status, text] = r.list(1, 2);
  return { status: r.oneOf(status, allowed), text: r.text(text) };
}

/**
 * Records where a segment's bytes are ('unknown' for a transfer without state, unless
 * `create`): `segs` is a sorted set, member `seq:length` scored by the segment's offset, so
 * the planner pages through it in offset order (segmentPage) in memory independent of the
 * segment count. `superseded`: the stream sequence of the copy this one replaced and no
 * assembly reads; 'duplicate': nothing references this message (a copy older than the
 * recorded one, or one below the seqFloor a reset set).
 *
 * A new offset beyond `maxSegments` (MQFT_MAX_SEGMENTS_PER_TRANSFER) fails the transfer at
 * once, in this script: state 'failed', errorReason 'too_many_segments', its segments dropped;
 * the reply is {'too_many_segments', finReply of a fin still waiting ('' if none)}. A segment
 * of a failed transfer is answered {'failed', '', errorReason}.
 *
 * Progressive assembly (docs/internals.md "Assembly"): a segment recorded (new or replacing)
 * below `prog`, the prefix a progressive lease holder has claimed, bumps `planEpoch`, so the
 * holder starts over. The third item of a 'ready'/'recorded' reply is '1' when progressive
 * assembly is wanted: receiving, init known, no fin yet, no lease, at least
 * `progressiveMinBytes` recorded (0: never), and not asked within `progressiveEveryMs`
 * (`progAt`), so a transfer with a gap at 0 is not offered on every segment.
 */
export const recordSegment = defineScript({
  name: 'mqftRecordSegment',
  keys: ['meta', 'segs', 'lease'],
  argv: [
    'offset',
    'seq',
    'length',
    'now',
    'ttlMs',
    'create',
    'maxSegments',
    'progressiveMinBytes',
    'progressiveEveryMs',
  ],
  body: `${READY}
local meta, segs = K.meta, K.segs
local state = redis.call('HGET', meta, 'state')
if state == 'failed' then return {state, '', redis.call('HGET', meta, 'errorReason') or ''} end
if state == 'complete' or state == 'aborted' then return {state, ''} end
if not state and A.create ~= '1' then return {'unknown', ''} end
local seq, len = tonumber(A.seq), tonumber(A.length)
-- a copy from before a reset (redelivered late): its attempt was dropped and purged
if seq < tonumber(redis.call('HGET', meta, 'seqFloor') or '0') then return {'duplicate', ''} end
local prev = redis.call('ZRANGEBYSCORE', segs, A.offset, A.offset)[1]
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
  touch(meta, A.now)
  redis.call('HINCRBY', meta, 'bytes', len - tonumber(plen))
  redis.call('ZREM', segs, prev)
  if state ~= 'assembling' then superseded = tostring(pseq) end
else
  if tonumber(redis.call('HGET', meta, 'segCount') or '0') >= tonumber(A.maxSegments) then
    touch(meta, A.now)
    local reply = redis.call('HGET', meta, 'finReply') or ''
    redis.call('HSET', meta, 'state', 'failed', 'errorReason', 'too_many_segments', 'bytes', 0,
      'segCount', 0)
    redis.call('HDEL', meta, 'finReply', 'finSize', 'finAt', 'finChecksum', 'missing')
    redis.call('DEL', segs)
    expire(meta, nil, A.ttlMs)
    return {'too_many_segments', reply}
  end
  touch(meta, A.now)
  redis.call('HINCRBY', meta, 'bytes', len)
  redis.call('HINCRBY', meta, 'segCount', 1)
end
redis.call('ZADD', segs, A.offset, A.seq .. ':' .. A.length)
expire(meta, segs, A.ttlMs)
local p = redis.call('HMGET', meta, 'prog', 'bytes', 'canonical', 'finSize', 'progAt', 'progOff')
if tonumber(A.offset) < tonumber(p[1] or '0') then redis.call('HINCRBY', meta, 'planEpoch', 1) end
local wanted = ''
local min_bytes = tonumber(A.progressiveMinBytes)
if min_bytes > 0 and tonumber(p[2] or '0') >= min_bytes and p[3] and not p[4] and not p[6]
  and (state or 'receiving') == 'receiving'
  and tonumber(A.now) - tonumber(p[5] or '0') >= tonumber(A.progressiveEveryMs)
  and redis.call('EXISTS', K.lease) == 0 then
  redis.call('HSET', meta, 'progAt', A.now)
  wanted = '1'
end
return {is_ready(meta) and 'ready' or 'recorded', superseded, wanted}
`,
  decode: (r) => {
    const [status, text, reason] = r.list(1, 3);
    const s = r.oneOf(status, [
      'ready',
      'recorded',
      'duplicate',
      'complete',
      'aborted',
      'failed',
      'too_many_segments',
      'unknown',
    ]);
    if (s === 'unknown') return { status: s };
    if (s === 'failed') return { status: s, reason: r.text(reason) };
    if (s === 'too_many_segments') return { status: s, finReply: r.text(text) };
    const superseded = r.text(text);
    const progressive = r.text(reason) === '1';
    return {
      status: s,
      ...(superseded === '' ? {} : { superseded: r.integer(superseded) }),
      ...(progressive ? { progressive } : {}),
    };
  },
});

/** Merges init's metadata. `declaredSize` and `checksum` are '' when init gave none. */
export const recordInit = defineScript({
  name: 'mqftRecordInit',
  keys: ['meta', 'segs'],
  argv: [
    'canonical',
    'filemetaJson',
    'name',
    'clientId',
    'fileId',
    'now',
    'ttlMs',
    'declaredSize',
    'checksum',
  ],
  body: `${READY}
local meta, segs = K.meta, K.segs
local cur = redis.call('HMGET', meta, 'canonical', 'state', 'errorReason')
if cur[2] == 'aborted' then return {'aborted', 0} end
-- failed: the transfer is over (docs/protocol.md "Failed transfers"); its reason is told
if cur[2] == 'failed' then return {'failed', 0, redis.call('HGET', meta, 'errorReason') or ''} end
if cur[1] then
  if cur[1] ~= A.canonical then return {'conflict', 0} end
  if cur[2] == 'complete' then return {'complete', 0} end
  return {'same', is_ready(meta) and 1 or 0}
end
touch(meta, A.now)
redis.call('HSET', meta, 'canonical', A.canonical, 'filemeta', A.filemetaJson, 'name', A.name,
  'clientId', A.clientId, 'fileId', A.fileId, 'ttlMs', A.ttlMs)
if A.declaredSize ~= '' then redis.call('HSET', meta, 'declaredSize', A.declaredSize) end
if A.checksum ~= '' then redis.call('HSET', meta, 'initChecksum', A.checksum) end
expire(meta, segs, A.ttlMs)
return {'created', is_ready(meta) and 1 or 0}
`,
  decode: (r) => {
    const [status, ready, reason] = r.list(2, 3);
    const s = r.oneOf(status, ['created', 'same', 'conflict', 'aborted', 'complete', 'failed']);
    // failed: why (its errorReason).
    if (s === 'failed') return { status: s, ready: r.flag(ready), reason: r.text(reason) };
    return { status: s, ready: r.flag(ready) };
  },
});

/**
 * take_lease: takes the assembly lease of a transfer whose checks passed (its caller's): the
 * token fences every later write of the holder. list_segments: the segment index (flag 1 and
 * ZRANGE WITHSCORES) when it has at most `max` segments, else (or when it cannot be read:
 * then the holder's own read fails, and it hands the lease back) flag 0. Shared by
 * acquireLease and recordFin.
 */
const TAKE_LEASE = `
local function take_lease(meta, lease, owner, ttl_ms, now)
  local token = redis.call('HINCRBY', meta, 'leaseEpoch', 1)
  redis.call('SET', lease, token .. ':' .. owner, 'PX', tonumber(ttl_ms))
  redis.call('HSET', meta, 'state', 'assembling', 'updatedAt', now)
  return token
end
local function list_segments(segs, max)
  local n = redis.pcall('ZCARD', segs)
  if type(n) ~= 'number' or n > tonumber(max) then return 0, {} end
  return 1, redis.call('ZRANGE', segs, 0, -1, 'WITHSCORES')
end
`;

/**
 * Records the request for assembly ('unknown' for a transfer without state, unless `create`).
 * `checksum` is '' when fin gave none. The text of the reply is the location (complete), the
 * first fin's time, from which the grace runs (assembling, ready, waiting, leased), the
 * errorReason (failed) or '' (aborted). For assembling, ready, waiting and leased the third
 * item tells whether an init was recorded (its recorder listed the transfer in the created
 * indexes, so the fin's need not).
 *
 * With a `leaseOwner` ('' for none), a fin that makes the transfer ready also takes its
 * assembly lease, as acquireLease would (not while a lease exists or a failed attempt's
 * back-off runs: then 'ready'), and answers 'leased' with the token, the deaths so far, the
 * record (HGETALL of meta) and, when it has at most `listSegments` segments, the segment
 * index (ZRANGE WITHSCORES, a flag telling it was listed): all a small file's assembly reads,
 * in the round trip that recorded its fin (docs/internals.md "Per small file").
 */
export const recordFin = defineScript({
  name: 'mqftRecordFin',
  keys: ['meta', 'segs', 'lease'],
  argv: [
    'size',
    'checksum',
    'reply',
    'now',
    'ttlMs',
    'clientId',
    'fileId',
    'create',
    'leaseOwner',
    'leaseTtlMs',
    'listSegments',
  ],
  body: `${READY}${TAKE_LEASE}
local meta, segs, lease = K.meta, K.segs, K.lease
local state = redis.call('HGET', meta, 'state')
if state == 'complete' then return {'complete', redis.call('HGET', meta, 'location') or ''} end
if state == 'aborted' then return {state, ''} end
if state == 'failed' then return {state, redis.call('HGET', meta, 'errorReason') or ''} end
if not state and A.create ~= '1' then return {'unknown', ''} end
touch(meta, A.now)
redis.call('HSET', meta, 'finSize', A.size, 'finReply', A.reply)
-- The grace runs from the first fin: a device retransmitting fin (no answer within its
-- timeout) must not push the deadline ahead forever, or it never learns what is missing.
redis.call('HSETNX', meta, 'finAt', A.now)
redis.call('HSETNX', meta, 'clientId', A.clientId)
redis.call('HSETNX', meta, 'fileId', A.fileId)
if A.checksum ~= '' then redis.call('HSET', meta, 'finChecksum', A.checksum) else redis.call('HDEL', meta, 'finChecksum') end
expire(meta, segs, A.ttlMs)
local fin_at = redis.call('HGET', meta, 'finAt')
local init = redis.call('HEXISTS', meta, 'canonical')
if state == 'assembling' then return {'assembling', fin_at, init} end
if not is_ready(meta) then return {'waiting', fin_at, init} end
if A.leaseOwner == '' or redis.call('EXISTS', lease) == 1 then return {'ready', fin_at, init} end
local retry_at = redis.call('HGET', meta, 'retryAt')
if retry_at and tonumber(retry_at) > tonumber(A.now) then return {'ready', fin_at, init} end
local token = take_lease(meta, lease, A.leaseOwner, A.leaseTtlMs, A.now)
local listed, index = list_segments(segs, A.listSegments)
return {'leased', fin_at, init, tostring(token), redis.call('HGET', meta, 'deaths') or '0',
  redis.call('HGETALL', meta), listed, index}
`,
  decode: (r) => {
    const [status, text, init, token, deaths, hash, listed, index] = r.list(2, 8);
    const s = r.oneOf(status, [
      'complete',
      'aborted',
      'failed',
      'assembling',
      'ready',
      'waiting',
      'leased',
      'unknown',
    ]);
    const t = r.text(text);
    if (s === 'complete') return { status: s, location: t };
    if (s === 'unknown') return { status: s };
    if (s === 'aborted') return { status: s };
    if (s === 'failed') return { status: s, reason: t };
    const recorded = { finAt: r.integer(t), init: r.flag(init) };
    if (s !== 'leased') return { status: s, ...recorded };
    return {
      status: s,
      ...recorded,
      token: r.integer(token),
      deaths: r.integer(deaths),
      hash: r.strings(hash),
      segments: r.flag(listed) ? r.strings(index) : undefined,
    };
  },
});

/**
 * Drops the transfer's state (a complete or failed transfer stays so); a transfer without
 * state gets an 'aborted' record (so that its late commands are ignored) only with `create`,
 * else the answer is 'unknown'. `finReply` is the reply of
 * a fin that was still waiting, '' if none; `uploadId` the unfinished upload to abort.
 */
export const recordAbort = defineScript({
  name: 'mqftRecordAbort',
  keys: ['meta', 'segs', 'lease'],
  argv: ['now', 'ttlMs', 'clientId', 'fileId', 'create'],
  body: `
local meta, segs, lease = K.meta, K.segs, K.lease
local state = redis.call('HGET', meta, 'state')
if state == 'complete' or state == 'failed' then return {state, ''} end
if not state and A.create ~= '1' then return {'unknown', '', ''} end
local upload = redis.call('HGET', meta, 'uploadId') or ''
-- A fin still waiting for its answer gets one: the transfer is aborted.
local fin_reply = redis.call('HGET', meta, 'finReply') or ''
redis.call('DEL', segs, lease)
if not state then redis.call('HSET', meta, 'createdAt', A.now) end
redis.call('HSET', meta, 'state', 'aborted', 'updatedAt', A.now, 'bytes', 0, 'segCount', 0)
redis.call('HSETNX', meta, 'clientId', A.clientId)
redis.call('HSETNX', meta, 'fileId', A.fileId)
redis.call('HDEL', meta, 'finReply', 'finSize', 'finAt', 'finChecksum', 'uploadId')
redis.call('PEXPIRE', meta, tonumber(A.ttlMs))
return {'aborted', upload, fin_reply}
`,
  decode: (r) => {
    const [first, uploadId, finReply] = r.list(1, 3);
    const status = r.oneOf(first, ['aborted', 'complete', 'failed', 'unknown']);
    if (status === 'unknown') return { status };
    return {
      status,
      uploadId: r.text(uploadId),
      finReply: r.text(finReply),
    };
  },
});

/**
 * Takes the assembly lease of a ready transfer; the token fences every later write.
 * 'backoff' (with the time) while a failed attempt's back-off runs (retryTransfer), so that a
 * device resending fin does not bring the next attempt forward. A transfer still
 * 'assembling' without a lease lost its holder (it died, or stalled beyond the lease): that
 * counts a death, and the reply tells the deaths so far (poison detection).
 * With `listSegments` ('' for none) an acquired lease comes with the record (HGETALL of meta)
 * and, when it has at most that many segments, the segment index (as recordFin's 'leased').
 */
export const acquireLease = defineScript({
  name: 'mqftAcquireLease',
  keys: ['meta', 'lease', 'segs'],
  argv: ['owner', 'leaseTtlMs', 'now', 'listSegments'],
  body: `${TAKE_LEASE}
local meta, lease = K.meta, K.lease
local m = redis.call('HMGET', meta, 'state', 'canonical', 'finSize', 'bytes', 'retryAt', 'deaths')
if m[1] ~= 'receiving' and m[1] ~= 'assembling' then return {'not_ready', m[1] or ''} end
if not m[2] or not m[3] or tonumber(m[4] or '0') < tonumber(m[3]) then return {'not_ready', m[1]} end
if redis.call('EXISTS', lease) == 1 then return {'busy', ''} end
if m[1] == 'receiving' and m[5] and tonumber(m[5]) > tonumber(A.now) then return {'backoff', m[5]} end
local deaths = tonumber(m[6] or '0')
if m[1] == 'assembling' then deaths = redis.call('HINCRBY', meta, 'deaths', 1) end
local token = take_lease(meta, lease, A.owner, A.leaseTtlMs, A.now)
if A.listSegments == '' then return {'acquired', tostring(token), tostring(deaths)} end
local listed, index = list_segments(K.segs, A.listSegments)
return {'acquired', tostring(token), tostring(deaths), redis.call('HGETALL', meta), listed, index}
`,
  decode: (r) => {
    const [status, text, deaths, hash, listed, index] = r.list(1, 6);
    const s = r.oneOf(status, ['acquired', 'busy', 'not_ready', 'backoff']);
    if (s === 'acquired') {
      const taken = { status: s, token: r.integer(text), deaths: r.integer(deaths) };
      if (hash === undefined) return taken;
      return {
        ...taken,
        hash: r.strings(hash),
        segments: r.flag(listed) ? r.strings(index) : undefined,
      };
    }
    if (s === 'backoff') return { status: s, retryAt: r.integer(text) };
    return { status: s, state: r.text(text) };
  },
});

/** Renews a lease (an assembly's, the rebuild's) while it is still `value`; true if so. */
export const renewLease = defineScript({
  name: 'mqftRenewLease',
  keys: ['lease'],
  argv: ['value', 'ttlMs'],
  body: `
if redis.call('GET', K.lease) ~= A.value then return 0 end
redis.call('PEXPIRE', K.lease, tonumber(A.ttlMs))
return 1
`,
  decode: (r) => r.flag(),
});

/** Deletes a lock while it is still `value` (compare and delete); true if it was ours. */
export const releaseLock = defineScript({
  name: 'mqftReleaseLock',
  keys: ['lock'],
  argv: ['value'],
  body: `
if redis.call('GET', K.lock) ~= A.value then return 0 end
redis.call('DEL', K.lock)
return 1
`,
  decode: (r) => r.flag(),
});

/** Records the upload a successor must abort, while the lease is `leaseValue`; true if so. */
export const recordUpload = defineScript({
  name: 'mqftRecordUpload',
  keys: ['meta', 'lease'],
  argv: ['leaseValue', 'uploadId'],
  body: `
if redis.call('GET', K.lease) ~= A.leaseValue then return 0 end
redis.call('HSET', K.meta, 'uploadId', A.uploadId)
return 1
`,
  decode: (r) => r.flag(),
});

/**
 * Takes the assembly lease of a transfer still receiving, for progressive assembly: init known,
 * no fin yet (a fin makes it the normal assembly's), no lease, no retry back-off running. The
 * state stays 'receiving' (a holder dying now is no assembly death); `prog` starts at 0.
 */
export const acquireProgressive = defineScript({
  name: 'mqftAcquireProgressive',
  keys: ['meta', 'lease'],
  argv: ['owner', 'leaseTtlMs', 'now'],
  body: `
local meta, lease = K.meta, K.lease
local m = redis.call('HMGET', meta, 'state', 'canonical', 'finSize', 'retryAt')
if m[1] ~= 'receiving' or not m[2] or m[3] then return {'not_ready', m[1] or ''} end
if m[4] and tonumber(m[4]) > tonumber(A.now) then return {'not_ready', m[1]} end
if redis.call('EXISTS', lease) == 1 then return {'busy', ''} end
local token = redis.call('HINCRBY', meta, 'leaseEpoch', 1)
redis.call('SET', lease, token .. ':' .. A.owner, 'PX', tonumber(A.leaseTtlMs))
redis.call('HSET', meta, 'prog', 0)
return {'acquired', tostring(token)}
`,
  decode: (r) => {
    const { status, text } = statusAndText(r, ['acquired', 'busy', 'not_ready']);
    if (status === 'acquired') return { status, token: r.integer(text) };
    return { status, state: text };
  },
});

/**
 * The progressive lease holder claims the next page of segments: up to `limit` after offset
 * `after` ('' from the first), and walks them from `pos` exactly as the planner's CoverageWalk
 * does (stop at a gap, or at the size when one is known: the fin's, else init's) to the
 * contiguous end E, which becomes `prog`. `epoch` ('' on an attempt's first claim) must still
 * be `planEpoch`, else 'stale': the holder starts over. Replies
 * {'ok', planEpoch, E, finSize, declaredSize, page} ('' for a size not known), 'lost' (the
 * lease is not `leaseValue`), or {'state', state} when the transfer is no longer receiving.
 */
export const claimProgress = defineScript({
  name: 'mqftClaimProgress',
  keys: ['meta', 'segs', 'lease'],
  argv: ['leaseValue', 'epoch', 'after', 'pos', 'limit'],
  body: `
local meta, segs, lease = K.meta, K.segs, K.lease
if redis.call('GET', lease) ~= A.leaseValue then return {'lost'} end
local m = redis.call('HMGET', meta, 'state', 'planEpoch', 'finSize', 'declaredSize')
if m[1] ~= 'receiving' then return {'state', m[1] or ''} end
local epoch = m[2] or '0'
if A.epoch ~= '' and A.epoch ~= epoch then return {'stale', epoch} end
local size = tonumber(m[3] or m[4] or '-1')
local from = '-inf'
if A.after ~= '' then from = '(' .. A.after end
local page = redis.call('ZRANGEBYSCORE', segs, from, '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(A.limit))
local pos = tonumber(A.pos)
for i = 1, #page, 2 do
  local offset = tonumber(page[i + 1])
  if size >= 0 and offset >= size then break end
  if offset > pos then break end
  local e = offset + tonumber(string.match(page[i], ':(%d+)$'))
  if size >= 0 and e > size then e = size end
  if e > pos then pos = e end
end
local e_text = string.format('%d', pos)
redis.call('HSET', meta, 'prog', e_text)
return {'ok', epoch, e_text, m[3] or '', m[4] or '', page}
`,
  decode: (r) => {
    const [status, epoch, end, finSize, declaredSize, page] = r.list(1, 6);
    const s = r.oneOf(status, ['ok', 'stale', 'lost', 'state']);
    if (s === 'lost') return { status: s };
    if (s === 'stale') return { status: s };
    if (s === 'state') return { status: s, state: r.text(epoch) };
    const size = (value: unknown) => (r.text(value) === '' ? undefined : r.integer(value));
    return {
      status: s,
      epoch: r.integer(epoch),
      end: r.integer(end),
      finSize: size(finSize),
      declaredSize: size(declaredSize),
      page: new ReplyReader(r.script, page).strings(),
    };
  },
});

/**
 * The progressive holder wrote [0, size) and the fin says `size`: the transfer becomes
 * 'assembling' (what remains is the assembly's tail: checksum, complete), provided the lease
 * is still `leaseValue`, the plan's epoch is still `epoch`, and the fin still says `size`.
 * 'stale' otherwise (start over), 'lost', or {'state', state} when no longer receiving.
 */
export const finishProgressive = defineScript({
  name: 'mqftFinishProgressive',
  keys: ['meta', 'lease'],
  argv: ['leaseValue', 'epoch', 'size', 'now'],
  body: `
local meta, lease = K.meta, K.lease
if redis.call('GET', lease) ~= A.leaseValue then return {'lost', ''} end
local m = redis.call('HMGET', meta, 'state', 'planEpoch', 'finSize')
if m[1] ~= 'receiving' then return {'state', m[1] or ''} end
if (m[2] or '0') ~= A.epoch or m[3] ~= A.size then return {'stale', ''} end
redis.call('HSET', meta, 'state', 'assembling', 'updatedAt', A.now)
return {'assembling', ''}
`,
  decode: (r) => statusAndText(r, ['assembling', 'stale', 'lost', 'state']),
});

/**
 * The progressive holder gives its lease up (idle, stopped, failed): the transfer stays
 * 'receiving'; `uploadAborted` = 1 forgets the upload id (the holder aborted it), else a
 * successor aborts it. False when the lease was not ours.
 */
export const releaseProgressive = defineScript({
  name: 'mqftReleaseProgressive',
  keys: ['meta', 'lease'],
  argv: ['leaseValue', 'uploadAborted', 'final'],
  body: `
if redis.call('GET', K.lease) ~= A.leaseValue then return 0 end
redis.call('DEL', K.lease)
if redis.call('HGET', K.meta, 'state') == 'receiving' then
  redis.call('HSET', K.meta, 'prog', 0)
  if A.uploadAborted == '1' then redis.call('HDEL', K.meta, 'uploadId') end
  -- never offered again (recordSegment): its fin's normal assembly does the work
  if A.final == '1' then redis.call('HSET', K.meta, 'progOff', 1) end
end
return 1
`,
  decode: (r) => r.flag(),
});

/** Marks the transfer complete; 'lost' when the lease was not ours any more. */
export const completeTransfer = defineScript({
  name: 'mqftCompleteTransfer',
  keys: ['meta', 'segs', 'lease'],
  argv: ['leaseValue', 'location', 'size', 'checksum', 'now', 'keepMs'],
  body: `
local meta, segs, lease = K.meta, K.segs, K.lease
if redis.call('GET', lease) ~= A.leaseValue or redis.call('HGET', meta, 'state') ~= 'assembling' then
  return {'lost', ''}
end
local reply = redis.call('HGET', meta, 'finReply') or ''
redis.call('HSET', meta, 'state', 'complete', 'location', A.location, 'size', A.size,
  'checksum', A.checksum, 'completedAt', A.now, 'updatedAt', A.now)
redis.call('HDEL', meta, 'uploadId', 'finReply', 'errorReason', 'missing')
redis.call('DEL', segs, lease)
redis.call('PEXPIRE', meta, tonumber(A.keepMs))
return {'complete', reply}
`,
  decode: (r) => {
    const { status, text } = statusAndText(r, ['complete', 'lost']);
    return { status, finReply: text };
  },
});

/**
 * Marks complete, without a lease, a 'receiving' transfer whose verified file storage already
 * holds: its completion was recorded in a Redis that was then lost, and replaying the stream
 * while its messages were being purged rebuilt only part of it (test/chaos, redis-loss).
 * 'skipped' (with the state) when it is leased or not receiving.
 */
export const completeStored = defineScript({
  name: 'mqftCompleteStored',
  keys: ['meta', 'segs', 'lease'],
  argv: ['location', 'size', 'checksum', 'now', 'keepMs'],
  body: `
local meta, segs, lease = K.meta, K.segs, K.lease
local state = redis.call('HGET', meta, 'state')
if state ~= 'receiving' or redis.call('EXISTS', lease) == 1 then return {'skipped', state or ''} end
local reply = redis.call('HGET', meta, 'finReply') or ''
redis.call('HSET', meta, 'state', 'complete', 'location', A.location, 'size', A.size,
  'checksum', A.checksum, 'completedAt', A.now, 'updatedAt', A.now)
redis.call('HDEL', meta, 'uploadId', 'finReply', 'errorReason', 'missing')
redis.call('DEL', segs)
redis.call('PEXPIRE', meta, tonumber(A.keepMs))
return {'complete', reply}
`,
  decode: (r) => {
    const { status, text } = statusAndText(r, ['complete', 'skipped']);
    return status === 'complete' ? { status, finReply: text } : { status, finReply: '' };
  },
});

/** How the lease holder gives a transfer back (see releaseTransfer). */
export const RELEASE_MODES = ['wait', 'fail_fin', 'reset'] as const;
export type ReleaseMode = (typeof RELEASE_MODES)[number];

/**
 * The lease holder gives the transfer back to 'receiving'. `missing` is JSON ('' if none),
 * `seqFloor` '' if none.
 * mode: 'wait' keeps the fin (more segments may come within the grace),
 *       'fail_fin' drops the fin (the device must send the missing ranges, then fin again),
 *       'reset' drops the fin and every segment (checksum mismatch, segments lost), and
 *       records seqFloor: the stream messages below it are being purged, so a late copy of
 *       one is never recorded again (it would be missing at the next assembly).
 */
export const releaseTransfer = defineScript({
  name: 'mqftReleaseTransfer',
  keys: ['meta', 'segs', 'lease'],
  argv: ['leaseValue', 'mode', 'reason', 'now', 'missing', 'seqFloor'],
  body: `
local meta, segs, lease = K.meta, K.segs, K.lease
if redis.call('GET', lease) ~= A.leaseValue or redis.call('HGET', meta, 'state') ~= 'assembling' then
  return {'lost', ''}
end
local reply = redis.call('HGET', meta, 'finReply') or ''
redis.call('DEL', lease)
redis.call('HSET', meta, 'state', 'receiving', 'updatedAt', A.now)
redis.call('HDEL', meta, 'uploadId')
if A.mode ~= 'wait' then
  redis.call('HSET', meta, 'errorReason', A.reason)
  redis.call('HDEL', meta, 'finReply', 'finSize', 'finAt', 'finChecksum')
  if A.missing ~= '' then redis.call('HSET', meta, 'missing', A.missing) end
end
if A.mode == 'reset' then
  redis.call('DEL', segs)
  redis.call('HSET', meta, 'bytes', 0, 'segCount', 0)
  local floor = tonumber(A.seqFloor) or 0
  if floor > tonumber(redis.call('HGET', meta, 'seqFloor') or '0') then
    redis.call('HSET', meta, 'seqFloor', floor)
  end
end
return {'released', reply}
`,
  decode: (r) => {
    const { status, text } = statusAndText(r, ['released', 'lost']);
    return { status, finReply: text };
  },
});

/**
 * The fin grace ran out without the transfer becoming ready. `finAt` as read: only the caller
 * that still sees the same fin answers it, so one of several sweeping assemblers replies.
 * `missing` is JSON.
 */
export const expireFin = defineScript({
  name: 'mqftExpireFin',
  keys: ['meta'],
  argv: ['finAt', 'now', 'missing'],
  body: `
local meta = K.meta
local m = redis.call('HMGET', meta, 'finAt', 'state', 'finReply')
if m[1] ~= A.finAt or m[2] ~= 'receiving' then return {'stale', ''} end
redis.call('HDEL', meta, 'finReply', 'finSize', 'finAt', 'finChecksum')
redis.call('HSET', meta, 'errorReason', 'incomplete', 'missing', A.missing, 'updatedAt', A.now)
return {'expired', m[3] or ''}
`,
  decode: (r) => {
    const { status, text } = statusAndText(r, ['expired', 'stale']);
    return { status, finReply: text };
  },
});

/**
 * The lease holder's attempt failed and may be tried again: counts it (`attempts`) and, below
 * `maxAttempts`, gives the transfer back to 'receiving' (fin kept) with a back-off:
 * `retryAt` = now + min(maxDelayMs, delayMs × 2^(attempts−1)), before which acquireLease
 * refuses. At `maxAttempts` it keeps the lease and answers 'exhausted': the holder fails
 * the transfer (failTransfer).
 */
export const retryTransfer = defineScript({
  name: 'mqftRetryTransfer',
  keys: ['meta', 'lease'],
  argv: ['leaseValue', 'now', 'maxAttempts', 'delayMs', 'maxDelayMs'],
  body: `
local meta, lease = K.meta, K.lease
if redis.call('GET', lease) ~= A.leaseValue or redis.call('HGET', meta, 'state') ~= 'assembling' then
  return {'lost', '0', '0'}
end
local attempts = redis.call('HINCRBY', meta, 'attempts', 1)
if attempts >= tonumber(A.maxAttempts) then return {'exhausted', tostring(attempts), '0'} end
local delay = math.min(tonumber(A.maxDelayMs), tonumber(A.delayMs) * 2 ^ (attempts - 1))
local retry_at = tonumber(A.now) + math.floor(delay)
redis.call('DEL', lease)
redis.call('HSET', meta, 'state', 'receiving', 'updatedAt', A.now, 'retryAt', string.format('%d', retry_at))
redis.call('HDEL', meta, 'uploadId')
return {'retry', tostring(attempts), string.format('%d', retry_at)}
`,
  decode: (r) => {
    const [status, attempts, retryAt] = r.list(3);
    return {
      status: r.oneOf(status, ['retry', 'exhausted', 'lost']),
      attempts: r.integer(attempts),
      retryAt: r.integer(retryAt),
    };
  },
});

/**
 * The lease holder ends the transfer as 'failed' (no retry without end): `reason` (a reason
 * description) and `cause` (a metric label) are kept with the record for `keepMs`, the
 * segment map and the lease go. Replies the fin that waits and the upload to abort.
 */
export const failTransfer = defineScript({
  name: 'mqftFailTransfer',
  keys: ['meta', 'segs', 'lease'],
  argv: ['leaseValue', 'reason', 'cause', 'now', 'keepMs'],
  body: `
local meta, segs, lease = K.meta, K.segs, K.lease
if redis.call('GET', lease) ~= A.leaseValue or redis.call('HGET', meta, 'state') ~= 'assembling' then
  return {'lost', '', ''}
end
local m = redis.call('HMGET', meta, 'finReply', 'uploadId')
redis.call('HSET', meta, 'state', 'failed', 'errorReason', A.reason, 'failCause', A.cause,
  'failedAt', A.now, 'updatedAt', A.now)
redis.call('HDEL', meta, 'finReply', 'finAt', 'uploadId', 'retryAt', 'missing')
redis.call('DEL', segs, lease)
redis.call('PEXPIRE', meta, tonumber(A.keepMs))
return {'failed', m[1] or '', m[2] or ''}
`,
  decode: (r) => {
    const [status, finReply, uploadId] = r.list(3);
    return {
      status: r.oneOf(status, ['failed', 'lost']),
      finReply: r.text(finReply),
      uploadId: r.text(uploadId),
    };
  },
});

/**
 * Per-client quota of active transfers, on the client's active set (scored by when each entry
 * lapses). True when admitted (or already active). The set lives as long as its last entry.
 */
export const admitTransfer = defineScript({
  name: 'mqftAdmitTransfer',
  keys: ['active'],
  argv: ['transferKey', 'now', 'lapseAt', 'max'],
  body: `
redis.call('ZREMRANGEBYSCORE', K.active, '-inf', A.now)
local known = redis.call('ZSCORE', K.active, A.transferKey)
if not known and redis.call('ZCARD', K.active) >= tonumber(A.max) then return 0 end
redis.call('ZADD', K.active, A.lapseAt, A.transferKey)
local last = redis.call('ZRANGE', K.active, -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', K.active, last[2])
return 1
`,
  decode: (r) => r.flag(),
});

/**
 * Claims due entries: up to `limit` keys whose time has come, each one's time pushed to
 * `claimUntil` so that other sweepers do not take the same ones meanwhile.
 */
export const claimDue = defineScript({
  name: 'mqftClaimDue',
  keys: ['due'],
  argv: ['now', 'limit', 'claimUntil'],
  body: `
local keys = redis.call('ZRANGEBYSCORE', K.due, '-inf', A.now, 'LIMIT', 0, tonumber(A.limit))
for _, k in ipairs(keys) do redis.call('ZADD', K.due, A.claimUntil, k) end
return keys
`,
  decode: (r) => r.strings(),
});

/**
 * Lists a transfer in a created index (ZADD NX: the first time stays, so the order is stable)
 * and keeps the index to its newest `max` entries; `keepMs` ('' for none): the index lapses
 * that long after its last listing. Answers how many old entries were dropped.
 */
export const indexTransfer = defineScript({
  name: 'mqftIndexTransfer',
  keys: ['index'],
  argv: ['transferKey', 'createdAt', 'max', 'keepMs'],
  body: `
redis.call('ZADD', K.index, 'NX', A.createdAt, A.transferKey)
local over = redis.call('ZCARD', K.index) - tonumber(A.max)
if over > 0 then redis.call('ZREMRANGEBYRANK', K.index, 0, over - 1) else over = 0 end
if A.keepMs ~= '' then redis.call('PEXPIRE', K.index, tonumber(A.keepMs)) end
return over
`,
  decode: (r) => r.integer(r.raw),
});

/**
 * Marks that a complete transfer's stored file was deleted (through the API): `deletedAt`,
 * the update time, and no `location` any more. 'deleted', 'already' when it was marked
 * before, or 'not_complete' (with the state, '' when unknown) when it is not complete.
 */
export const markFileDeleted = defineScript({
  name: 'mqftMarkFileDeleted',
  keys: ['meta'],
  argv: ['now'],
  body: `
local state = redis.call('HGET', K.meta, 'state')
if state ~= 'complete' then return {'not_complete', state or ''} end
if redis.call('HEXISTS', K.meta, 'deletedAt') == 1 then return {'already', state} end
redis.call('HSET', K.meta, 'deletedAt', A.now, 'updatedAt', A.now)
redis.call('HDEL', K.meta, 'location')
return {'deleted', state}
`,
  decode: (r) => statusAndText(r, ['deleted', 'already', 'not_complete']),
});

export const ALL_SCRIPTS = [
  recordSegment,
  recordInit,
  recordFin,
  recordAbort,
  acquireLease,
  renewLease,
  releaseLock,
  recordUpload,
  acquireProgressive,
  claimProgress,
  finishProgressive,
  releaseProgressive,
  completeTransfer,
  completeStored,
  releaseTransfer,
  expireFin,
  retryTransfer,
  failTransfer,
  admitTransfer,
  claimDue,
  indexTransfer,
  retention.scheduleDeletion,
  retention.claimDeletions,
  retention.finishDeletion,
  retention.markDeletion,
  retention.forgetDeleted,
  markFileDeleted,
] as const;

/** One runner per client, with every script above, shared by the stores built on it. */
const runners = new WeakMap<RedisClient, ScriptRunner>();

export function scriptRunner(redis: RedisClient): ScriptRunner {
  let runner = runners.get(redis);
  if (!runner) {
    runner = new ScriptRunner(redis, ALL_SCRIPTS);
    runners.set(redis, runner);
  }
  return runner;
}
