import { dueIndexKey } from './keys.js';
import type { RedisClient } from './redis.js';
import type { ScriptRunner } from './script.js';
import { claimDue, scriptRunner } from './scripts.js';

/**
 * The transfers that need a look at a given time (a fin's grace, the lease watchdog, a retry):
 * one sorted set, scored by that time, swept by every assembler.
 */
export class DueIndex {
  private readonly scripts: ScriptRunner;
  private readonly key: string;

  constructor(
    readonly redis: RedisClient,
    prefix: string,
  ) {
    this.scripts = scriptRunner(redis);
    this.key = dueIndexKey(prefix);
  }

  async scheduleCheck(key: string, at: number): Promise<void> {
    await this.redis.zadd(this.key, at, key);
  }

  /**
   * Schedules a look at `at` at the latest: an earlier one stays (ZADD LT, Redis 6.2+). For a
   * watchdog, which must not postpone a look already due sooner (a failed attempt's back-off
   * ending, docs/design.md "No retry without end").
   */
  async scheduleCheckBy(key: string, at: number): Promise<void> {
    await this.redis.zadd(this.key, 'LT', at, key);
  }

  async unschedule(key: string): Promise<void> {
    await this.redis.zrem(this.key, key);
  }

  /** Up to `limit` due keys, each claimed for `claimForMs` (other sweepers skip it meanwhile). */
  claimDue(now: number, limit: number, claimForMs: number): Promise<string[]> {
    return this.scripts.run(
      claimDue,
      { due: this.key },
      { now, limit, claimUntil: now + claimForMs },
    );
  }
}
