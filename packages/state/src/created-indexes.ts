import { clientCreatedIndexKey, clientPartOf, createdIndexKey } from './keys.js';
import type { RedisClient } from './redis.js';
import type { ScriptRunner } from './script.js';
import { indexTransfer, scriptRunner } from './scripts.js';
import { COMPLETE_KEEP_MS } from './transfer-store.js';

/** How many entries the created indexes keep (the newest; the oldest are dropped). */
export interface CreatedIndexLimits {
  /** `idx:created`, every client's transfers (MQFT_MAX_LISTED_TRANSFERS). */
  maxListed: number;
  /** `client:{…}:created`, one client's (MQFT_MAX_LISTED_PER_CLIENT). */
  maxListedPerClient: number;
}

/**
 * The created indexes the API lists transfers from (transfer-queries.ts): all transfers, and
 * each client's, scored by creation time. Both are bounded: each keeps its newest entries up
 * to its limit (an older transfer is still found by GetTransfer, only no longer listed), and a
 * client's index lapses when nothing was listed in it for as long as a complete transfer is
 * kept. Readers drop the entries whose transfer expired.
 */
export class CreatedIndexes {
  private readonly scripts: ScriptRunner;

  constructor(
    readonly redis: RedisClient,
    readonly prefix: string,
    readonly limits: CreatedIndexLimits,
  ) {
    this.scripts = scriptRunner(redis);
  }

  /** Lists the transfer (idempotent: the first call's time stays, so the order is stable). */
  async indexTransfer(key: string, createdAt: number): Promise<void> {
    await Promise.all([
      this.scripts.run(
        indexTransfer,
        { index: createdIndexKey(this.prefix) },
        { transferKey: key, createdAt, max: this.limits.maxListed, keepMs: '' },
      ),
      this.scripts.run(
        indexTransfer,
        { index: clientCreatedIndexKey(this.prefix, clientPartOf(key)) },
        {
          transferKey: key,
          createdAt,
          max: this.limits.maxListedPerClient,
          keepMs: COMPLETE_KEEP_MS,
        },
      ),
    ]);
  }
}
