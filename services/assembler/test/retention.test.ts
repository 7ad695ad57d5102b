import { describe, expect, it } from 'vitest';
import { deletionTime } from '../src/retention.js';

const STORED = 1_750_000_000_000;
const HOUR = 3_600_000;
const on = { retentionEnabled: true, retentionDefault: 0, retentionMax: 0 };
const meta = (fields: Record<string, unknown>) => JSON.stringify({ name: 'a.bin', ...fields });

describe('deletionTime (docs/operations.md "Retention")', () => {
  it('retention off: nothing is ever deleted, whatever the device asked', () => {
    const off = { ...on, retentionEnabled: false, retentionDefault: HOUR, retentionMax: HOUR };
    expect(
      deletionTime(off, { completedAt: STORED, filemeta: meta({ expire_at: 1 }) }),
    ).toBeUndefined();
  });

  it("the init's expire_at (Unix seconds) decides, earlier or later than the default", () => {
    const expireAt = STORED / 1000 + 60;
    const withDefault = { ...on, retentionDefault: HOUR };
    expect(
      deletionTime(withDefault, { completedAt: STORED, filemeta: meta({ expire_at: expireAt }) }),
    ).toBe(expireAt * 1000);
    const later = STORED / 1000 + 48 * 3600;
    expect(
      deletionTime(withDefault, { completedAt: STORED, filemeta: meta({ expire_at: later }) }),
    ).toBe(later * 1000);
  });

  it('without expire_at: the default after the file was stored; 0 keeps it for ever', () => {
    expect(deletionTime({ ...on, retentionDefault: HOUR }, { completedAt: STORED })).toBe(
      STORED + HOUR,
    );
    expect(deletionTime(on, { completedAt: STORED, filemeta: meta({}) })).toBeUndefined();
  });

  it('the maximum brings a later expire_at (or the default, or for ever) forward', () => {
    const capped = { ...on, retentionMax: 2 * HOUR };
    const far = STORED / 1000 + 365 * 24 * 3600;
    expect(deletionTime(capped, { completedAt: STORED, filemeta: meta({ expire_at: far }) })).toBe(
      STORED + 2 * HOUR,
    );
    expect(deletionTime(capped, { completedAt: STORED })).toBe(STORED + 2 * HOUR);
    expect(deletionTime({ ...capped, retentionDefault: 5 * HOUR }, { completedAt: STORED })).toBe(
      STORED + 2 * HOUR,
    );
    expect(
      deletionTime(capped, { completedAt: STORED, filemeta: meta({ expire_at: STORED / 1000 }) }),
    ).toBe(STORED);
  });

  it('a transfer not stored (no completion time) has no deletion', () => {
    expect(deletionTime({ ...on, retentionDefault: HOUR }, {})).toBeUndefined();
  });
});
