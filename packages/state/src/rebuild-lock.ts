import { rebuildLockKey, stateEpochKey } from './keys.js';
import type { RedisClient } from './redis.js';
import type { ScriptRunner } from './script.js';
import { releaseLock, renewLease, scriptRunner } from './scripts.js';

/**
 * Whether Redis holds every transfer's state: set once the stream was replayed into it (or
 * nothing was ever lost). Redis that lost its data has no epoch key.
 */
export class StateEpoch {
  private readonly key: string;

  constructor(
    readonly redis: RedisClient,
    prefix: string,
  ) {
    this.key = stateEpochKey(prefix);
  }

  /** True when Redis holds every transfer's state (nothing was lost since the last rebuild). */
  async isWhole(): Promise<boolean> {
    return (await this.redis.get(this.key)) === 'ready';
  }

  async markWhole(): Promise<void> {
    await this.redis.set(this.key, 'ready');
  }
}

/** One assembler at a time replays the stream into Redis: the holder of this lock. */
export class RebuildLock {
  private readonly scripts: ScriptRunner;
  private readonly key: string;

  constructor(
    readonly redis: RedisClient,
    prefix: string,
  ) {
    this.scripts = scriptRunner(redis);
    this.key = rebuildLockKey(prefix);
  }

  /** False when another owner holds the lock. */
  async take(owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.key, owner, 'PX', ttlMs, 'NX')) === 'OK';
  }

  /** False when the lock is not ours any more (it lapsed, or Redis lost it). */
  renew(owner: string, ttlMs: number): Promise<boolean> {
    return this.scripts.run(renewLease, { lease: this.key }, { value: owner, ttlMs });
  }

  /** Deletes the lock if, and only if, it is still ours (one atomic compare and delete). */
  release(owner: string): Promise<boolean> {
    return this.scripts.run(releaseLock, { lock: this.key }, { value: owner });
  }
}
