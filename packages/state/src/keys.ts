/**
 * Redis key layout (docs/design.md "Identity and keys"). The keys of one transfer share the
 * hash tag `{key}`, so one Lua script can update them atomically, also on Redis Cluster.
 * Indexes that span transfers live on keys of their own and are updated by separate,
 * idempotent commands.
 */
export interface TransferKeys {
  /** Hash: metadata, facts (init, fin), state, result. */
  meta: string;
  /** Hash: offset → `<stream sequence>:<length>`. */
  segs: string;
  /** String: `<fencing token>:<owner>`, with a TTL. */
  lease: string;
}

export function transferKeys(prefix: string, key: string): TransferKeys {
  const base = `${prefix}ft:{${key}}`;
  return { meta: `${base}:meta`, segs: `${base}:segs`, lease: `${base}:lease` };
}

/** The client's part of a transfer key (the base64url of its clientId, before the dot). */
export function clientPartOf(key: string): string {
  return key.slice(0, key.indexOf('.'));
}

/** Sorted set of one client's active transfer keys, scored by when the entry lapses. */
export function clientActiveKey(prefix: string, clientKeyPart: string): string {
  return `${prefix}client:{${clientKeyPart}}:active`;
}

/** Sorted set of transfer keys that need a look at a given time (fin grace, lease watchdog). */
export function dueIndexKey(prefix: string): string {
  return `${prefix}idx:due`;
}

/**
 * Sorted sets of transfer keys scored by creation time (ms), for listing in a stable order:
 * all transfers, and one client's. Entries whose transfer expired are dropped by readers.
 */
export function createdIndexKey(prefix: string): string {
  return `${prefix}idx:created`;
}

export function clientCreatedIndexKey(prefix: string, clientKeyPart: string): string {
  return `${prefix}client:{${clientKeyPart}}:created`;
}

/**
 * The retention index: `at`, a sorted set of transfer keys scored by when their stored file
 * goes; `files`, a hash of transfer key → what deleting it needs (JSON). One hash tag.
 */
export function retentionKeys(prefix: string): { at: string; files: string } {
  return { at: `${prefix}{retention}:at`, files: `${prefix}{retention}:files` };
}

/**
 * Set to `ready` once Redis holds the state of every transfer in the stream. Redis that lost
 * its data (a restart without persistence) has no such key, and the assemblers rebuild the
 * state from the stream before setting it again.
 */
export function stateEpochKey(prefix: string): string {
  return `${prefix}state:epoch`;
}

/** Held by the one assembler that replays the stream into Redis. */
export function rebuildLockKey(prefix: string): string {
  return `${prefix}state:rebuild`;
}

/** A key prefix must not contain a hash tag of its own, or every key would share one slot. */
export function assertRedisPrefix(prefix: string): void {
  if (/[{}]/.test(prefix))
    throw new Error(`MQFT_REDIS_PREFIX=${JSON.stringify(prefix)} must not contain { or }`);
}
