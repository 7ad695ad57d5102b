import { describe, expect, it } from 'vitest';
import { judgeLoad, type LoadSample, type LoadSettings } from '../src/load-gate.js';

const settings: LoadSettings = {
  stream: 'S',
  busyStreamPercent: 70,
  busyBacklog: 1000,
  busyDueAge: 30_000,
  busyStorageErrors: 5,
};
const calm: LoadSample = {
  streamBytes: 100,
  streamMaxBytes: 1000,
  backlog: 10,
  dueAgeMs: 500,
  storageErrors: 0,
};

describe('judgeLoad', () => {
  it('is not behind below every threshold', () => {
    expect(judgeLoad(calm, settings)).toBeUndefined();
    expect(judgeLoad({ ...calm, streamBytes: 699 }, settings)).toBeUndefined();
  });

  it('names the first threshold reached', () => {
    expect(judgeLoad({ ...calm, streamBytes: 700 }, settings)).toBe('stream_fill');
    expect(judgeLoad({ ...calm, backlog: 1000 }, settings)).toBe('backlog');
    expect(judgeLoad({ ...calm, dueAgeMs: 30_000 }, settings)).toBe('due_age');
    expect(judgeLoad({ ...calm, storageErrors: 5 }, settings)).toBe('storage_errors');
    expect(judgeLoad({ ...calm, streamBytes: 900, backlog: 5000 }, settings)).toBe('stream_fill');
  });

  it('ignores a stream without a limit and thresholds set to 0', () => {
    const off = { ...settings, busyBacklog: 0, busyDueAge: 0, busyStorageErrors: 0 };
    const loaded = {
      streamBytes: 5000,
      streamMaxBytes: -1,
      backlog: 1e9,
      dueAgeMs: 1e9,
      storageErrors: 1e3,
    };
    expect(judgeLoad(loaded, off)).toBeUndefined();
  });
});
