/**
 * mulberry32: a small, fast seeded generator of numbers in [0, 1), good enough to drive
 * sizes, timings and content reproducibly, so a failing run can be repeated from its seed.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `size` bytes drawn from `random` (a seededRandom), four at a time. */
export function seededBytes(random: () => number, size: number): Buffer {
  const data = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) data.writeUInt32LE((random() * 2 ** 32) >>> 0, i);
  for (let i = size - (size % 4); i < size; i++) data[i] = (random() * 256) | 0;
  return data;
}
