import { retentionKeys, transferKeys } from './keys.js';
import type { RedisClient } from './redis.js';
import {
  claimDeletions,
  finishDeletion,
  forgetDeleted,
  markDeletion,
  scheduleDeletion,
} from './retention-scripts.js';
import type { ScriptRunner } from './script.js';
import { scriptRunner } from './scripts.js';

/** What deleting a stored file needs, kept in the index (its record may lapse before). */
export interface ScheduledDeletion {
  key: string;
  clientId: string;
  fileId: string;
  name: string;
  size: number;
  location: string;
  /** The transfer's completion time: tells it from a later upload of the same file id. */
  completedAt: number;
  /** The transfer's creation time (its outcome id). */
  createdAt: number;
  deleteAt: number;
}

/** A deletion claimed by one sweeper; `claimUntil` fences its finish. */
export interface ClaimedDeletion extends ScheduledDeletion {
  claimUntil: number;
}

/**
 * When stored files go (MQFT_RETENTION_*): one sorted set scored by that time, swept by every
 * assembler, each due entry claimed by one of them (as the due index's claimDue does).
 */
export class RetentionIndex {
  private readonly scripts: ScriptRunner;
  private readonly keys: { at: string; files: string };

  constructor(
    readonly redis: RedisClient,
    readonly prefix: string,
  ) {
    this.scripts = scriptRunner(redis);
    this.keys = retentionKeys(prefix);
  }

  /**
   * Schedules the deletion, then notes its time on the record (the index first: a record
   * that says when its file goes always has an entry that does it). Idempotent.
   */
  async schedule(entry: ScheduledDeletion): Promise<void> {
    await this.scripts.run(scheduleDeletion, this.keys, {
      transferKey: entry.key,
      deleteAt: entry.deleteAt,
      file: JSON.stringify(entry),
    });
    await this.scripts.run(markDeletion, transferKeys(this.prefix, entry.key), {
      completedAt: entry.completedAt,
      deleteAt: entry.deleteAt,
    });
  }

  /** Up to `limit` deletions due by `now`, each claimed for `claimForMs`. */
  async claimDue(now: number, limit: number, claimForMs: number): Promise<ClaimedDeletion[]> {
    const claimUntil = now + claimForMs;
    const flat = await this.scripts.run(claimDeletions, this.keys, { now, limit, claimUntil });
    const claimed: ClaimedDeletion[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const entry = parseEntry(flat[i] ?? '', flat[i + 1] ?? '');
      if (entry) claimed.push({ ...entry, claimUntil });
      // An entry without its file data cannot be acted on: finished (dropped) at once.
      else await this.finish({ key: flat[i] ?? '', claimUntil });
    }
    return claimed;
  }

  /** The file is gone: drops the entry (unless it was scheduled anew) and the record. */
  async finish(claimed: Pick<ClaimedDeletion, 'key' | 'claimUntil'>): Promise<void> {
    await this.scripts.run(finishDeletion, this.keys, {
      transferKey: claimed.key,
      claimUntil: claimed.claimUntil,
    });
  }

  /** Drops the transfer's record, if it is still the one whose file was deleted. */
  forgetRecord(entry: Pick<ScheduledDeletion, 'key' | 'completedAt'>): Promise<boolean> {
    return this.scripts.run(forgetDeleted, transferKeys(this.prefix, entry.key), {
      completedAt: entry.completedAt,
    });
  }

  /** Entries scheduled (for tests and tools). */
  size(): Promise<number> {
    return this.redis.zcard(this.keys.at);
  }
}

function parseEntry(key: string, json: string): ScheduledDeletion | undefined {
  try {
    const entry = JSON.parse(json) as ScheduledDeletion;
    return entry.key === key && typeof entry.completedAt === 'number' ? entry : undefined;
  } catch {
    return undefined;
  }
}
