import { clientCreatedIndexKey, clientPartOf, createdIndexKey } from './keys.js';
import type { RedisClient } from './redis.js';

/**
 * The created indexes the API lists transfers from (transfer-queries.ts): all transfers, and
 * each client's, scored by creation time.
 */
export class CreatedIndexes {
  constructor(
    readonly redis: RedisClient,
    readonly prefix: string,
  ) {}

  /** Lists the transfer (idempotent: the first call's time stays, so the order is stable). */
  async indexTransfer(key: string, createdAt: number): Promise<void> {
    await Promise.all([
      this.redis.zadd(createdIndexKey(this.prefix), 'NX', createdAt, key),
      this.redis.zadd(clientCreatedIndexKey(this.prefix, clientPartOf(key)), 'NX', createdAt, key),
    ]);
  }
}
