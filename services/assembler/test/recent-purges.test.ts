import { describe, expect, it } from 'vitest';
import { LEFTOVER_CHECK_MS, RecentPurges } from '../src/recent-purges.js';

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
