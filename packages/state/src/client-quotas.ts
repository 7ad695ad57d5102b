import { clientActiveKey, clientPartOf } from './keys.js';
import type { RedisClient } from './redis.js';
import type { ScriptRunner } from './script.js';
import { admitTransfer, scriptRunner } from './scripts.js';

/**
 * Per-client quota of active transfers: each client's set of the transfers it holds, scored by
 * when each entry lapses (a transfer that is never finished or aborted frees its slot then).
 */
export class ClientQuotas {
  private readonly scripts: ScriptRunner;

  constructor(
    readonly redis: RedisClient,
    readonly prefix: string,
  ) {
    this.scripts = scriptRunner(redis);
  }

  /** Counts the transfer against its client's quota; false when the client is at its limit. */
  admit(key: string, now: number, lapseAt: number, max: number): Promise<boolean> {
    return this.scripts.run(
      admitTransfer,
      { active: this.activeKey(key) },
      { transferKey: key, now, lapseAt, max },
    );
  }

  async release(key: string): Promise<void> {
    await this.redis.zrem(this.activeKey(key), key);
  }

  private activeKey(key: string): string {
    return clientActiveKey(this.prefix, clientPartOf(key));
  }
}
