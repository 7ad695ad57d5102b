import { describe, expect, it } from 'vitest';
import { safeLimit } from '../src/provision.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('safeLimit (an existing stream: never a limit below what it holds)', () => {
  it('takes the wanted limit when that deletes nothing', () => {
    expect(safeLimit(10 * GiB, -1, GiB)).toBe(10 * GiB); // no limit yet, little stored
    expect(safeLimit(10 * GiB, 5 * GiB, 4.9 * GiB)).toBe(10 * GiB); // raising
    expect(safeLimit(10 * GiB, 10 * GiB, 9.99 * GiB)).toBe(10 * GiB); // unchanged, nearly full
    expect(safeLimit(5 * GiB, 20 * GiB, GiB)).toBe(5 * GiB); // lowering, well above stored
  });

  it('lowers only to what is stored plus a margin', () => {
    expect(safeLimit(GiB, -1, 3 * GiB)).toBe(3 * GiB + 256 * MiB);
    expect(safeLimit(GiB, 20 * GiB, 3 * GiB)).toBe(3 * GiB + 256 * MiB);
    expect(safeLimit(GiB, 3.1 * GiB, 3 * GiB)).toBe(3.1 * GiB);
    // Small limits: the margin is a quarter of the wanted limit.
    expect(safeLimit(MiB, -1, 4096)).toBe(MiB);
    expect(safeLimit(MiB, -1, MiB)).toBe(MiB + MiB / 4);
  });
});
