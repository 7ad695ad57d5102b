import { describe, expect, it } from 'vitest';
import { LEFTOVER_CHECK_MS, RECENT_PURGE_MS, RecentPurges } from '../src/recent-purges.js';

describe('RecentPurges', () => {
  it('hands each purged key out once for its leftover check, after the delay', () => {
    const purges = new RecentPurges();
    purges.remember('a', 1_000);
    purges.remember('b', 2_000);
    expect(purges.takeDue(1_000 + LEFTOVER_CHECK_MS - 1)).toEqual([]);
    expect(purges.takeDue(1_000 + LEFTOVER_CHECK_MS)).toEqual(['a']);
    expect(purges.takeDue(2_000 + LEFTOVER_CHECK_MS)).toEqual(['b']);
    expect(purges.takeDue(60_000)).toEqual([]);
  });

  it('a key purged again waits for its new check', () => {
    const purges = new RecentPurges();
    purges.remember('a', 1_000);
    purges.remember('b', 1_500);
    purges.remember('a', 4_000);
    expect(purges.takeDue(1_500 + LEFTOVER_CHECK_MS)).toEqual(['b']);
    expect(purges.takeDue(4_000 + LEFTOVER_CHECK_MS)).toEqual(['a']);
  });

  it('a check that failed hands its keys out again at the next check, ahead of the others', () => {
    const purges = new RecentPurges();
    purges.remember('a', 1_000);
    purges.remember('b', 1_500);
    const due = 1_500 + LEFTOVER_CHECK_MS;
    expect(purges.takeDue(due)).toEqual(['a', 'b']);
    purges.remember('c', 2_000);
    expect(purges.checkFailed(['a', 'b'], due)).toEqual([]);
    expect(purges.takeDue(due + 1)).toEqual(['a', 'b']);
    expect(purges.takeDue(2_000 + LEFTOVER_CHECK_MS)).toEqual(['c']);
  });

  it('after a failed check, a key purged again meanwhile keeps its new turn', () => {
    const purges = new RecentPurges();
    purges.remember('a', 1_000);
    expect(purges.takeDue(1_000 + LEFTOVER_CHECK_MS)).toEqual(['a']);
    purges.remember('a', 3_000);
    purges.checkFailed(['a'], 1_000 + LEFTOVER_CHECK_MS);
    expect(purges.takeDue(3_000 + LEFTOVER_CHECK_MS - 1)).toEqual([]);
    expect(purges.takeDue(3_000 + LEFTOVER_CHECK_MS)).toEqual(['a']);
  });

  it('gives up the check of a purge older than RECENT_PURGE_MS (a later upload may reuse the id)', () => {
    const purges = new RecentPurges();
    purges.remember('old', 0);
    purges.remember('new', 10_000);
    const now = RECENT_PURGE_MS + 1;
    expect(purges.takeDue(now)).toEqual(['old', 'new']);
    expect(purges.checkFailed(['old', 'new'], now)).toEqual(['old']);
    expect(purges.takeDue(now)).toEqual(['new']);
  });

  it('remembers purges of the last 30 s for a reconnect', () => {
    const purges = new RecentPurges();
    purges.remember('old', 0);
    purges.remember('new', 20_000);
    expect(purges.recent(25_000)).toEqual(['old', 'new']);
    expect(purges.recent(40_000)).toEqual(['new']);
    purges.remember('newest', 40_000);
    expect(purges.recent(40_000)).toEqual(['new', 'newest']);
  });
});
