/** How long purges are remembered: a NATS reconnect within it does them again. */
export const RECENT_PURGE_MS = 30_000;
/** How long after its purge a transfer's subject is checked for leftovers (once). */
export const LEFTOVER_CHECK_MS = 5_000;

/**
 * The transfers this process purged lately, kept for two defects of nats-server 2.9 (the
 * version docs/design.md runs): killed (kill -9) within ~0.3 s after a purge it comes back
 * WITH the deleted messages (test/chaos, nats-restart), so a reconnect redoes the recent
 * purges; and now and then it keeps a deleted message without any restart (test/chaos soak),
 * so each purged subject is checked once, LEFTOVER_CHECK_MS later, in batches.
 */
export class RecentPurges {
  private readonly purgedAt = new Map<string, number>();
  private readonly unchecked = new Map<string, number>();

  remember(key: string, now = Date.now()): void {
    this.purgedAt.delete(key);
    this.purgedAt.set(key, now);
    this.unchecked.delete(key);
    this.unchecked.set(key, now);
    // Oldest first (insertion order): drop what is too old to matter.
    for (const [k, at] of this.purgedAt) {
      if (now - at <= RECENT_PURGE_MS) break;
      this.purgedAt.delete(k);
    }
  }

  /** Keys purged within the last RECENT_PURGE_MS. */
  recent(now = Date.now()): string[] {
    return [...this.purgedAt].filter(([, at]) => now - at <= RECENT_PURGE_MS).map(([k]) => k);
  }

  /**
   * Keys purged LEFTOVER_CHECK_MS ago or earlier and not checked yet; they count as checked
   * (a check that could not be done gives them back: {@link checkFailed}).
   */
  takeDue(now = Date.now()): string[] {
    const due: string[] = [];
    for (const [key, at] of this.unchecked) {
      if (now - at < LEFTOVER_CHECK_MS) break;
      due.push(key);
      this.unchecked.delete(key);
    }
    return due;
  }

  /**
   * The leftover check of `keys` (from {@link takeDue}) failed, e.g. NATS did not answer while
   * the stream elected a leader: they are due again at once, ahead of the keys still waiting.
   * Dropping them would leave a message nats-server kept in the stream until max_age. Like the
   * purges redone after a reconnect, only purges of the last RECENT_PURGE_MS come back: a
   * check deletes whatever the subject holds, and a much later upload may reuse the file id.
   * Returns the keys given up.
   */
  checkFailed(keys: readonly string[], now = Date.now()): string[] {
    const again: [string, number][] = [];
    const givenUp: string[] = [];
    for (const key of keys) {
      const at = this.purgedAt.get(key);
      if (this.unchecked.has(key)) continue; // purged again meanwhile: checked in its new turn
      if (at !== undefined && now - at <= RECENT_PURGE_MS) again.push([key, at]);
      else givenUp.push(key);
    }
    const waiting = [...this.unchecked];
    this.unchecked.clear();
    for (const [key, at] of [...again, ...waiting]) this.unchecked.set(key, at);
    return givenUp;
  }
}
