import { describe, expect, it } from 'vitest';
import { AssemblyAdmission, MAX_SMALL_ASSEMBLIES } from '../src/admission.js';

const MiB = 1024 * 1024;

describe('AssemblyAdmission', () => {
  it('admits files larger than one part up to the large slots, again once one is released', () => {
    const admission = new AssemblyAdmission(2, 8 * MiB);
    const a = admission.tryAdmit(100 * MiB);
    const b = admission.tryAdmit(8 * MiB + 1);
    expect(a).toEqual({ large: true, bytes: 0 });
    expect(b).toBeDefined();
    expect(admission.tryAdmit(9 * MiB)).toBeUndefined();
    admission.release(a!);
    expect(admission.tryAdmit(9 * MiB)).toBeDefined();
  });

  it('runs small files beside full large slots, within slots × part size bytes', () => {
    const admission = new AssemblyAdmission(2, 8 * MiB);
    admission.tryAdmit(50 * MiB);
    admission.tryAdmit(50 * MiB);
    const held = [admission.tryAdmit(8 * MiB), admission.tryAdmit(6 * MiB)];
    expect(held.every((h) => h !== undefined)).toBe(true);
    expect(admission.tryAdmit(2 * MiB + 1)).toBeUndefined(); // 16 MiB budget
    expect(admission.tryAdmit(2 * MiB)).toBeDefined();
    admission.release(held[0]!);
    expect(admission.tryAdmit(8 * MiB)).toBeDefined();
  });

  it(`runs at most ${MAX_SMALL_ASSEMBLIES} small files at once, however small`, () => {
    const admission = new AssemblyAdmission(2, 8 * MiB);
    const held = Array.from({ length: MAX_SMALL_ASSEMBLIES }, () => admission.tryAdmit(16 * 1024));
    expect(held.every((h) => h !== undefined)).toBe(true);
    expect(admission.tryAdmit(0)).toBeUndefined();
    admission.release(held[0]!);
    expect(admission.tryAdmit(0)).toBeDefined();
    expect(admission.capacity).toBe(2 + MAX_SMALL_ASSEMBLIES);
  });

  it('a small file that needs the whole budget waits until the others are done', () => {
    const admission = new AssemblyAdmission(1, 5 * MiB);
    // 1 slot × 5 MiB: a 5 MiB file fits exactly; with a tiny one held, it must wait.
    const tiny = admission.tryAdmit(1);
    expect(admission.tryAdmit(5 * MiB)).toBeUndefined();
    admission.release(tiny!);
    expect(admission.tryAdmit(5 * MiB)).toBeDefined();
  });
});
