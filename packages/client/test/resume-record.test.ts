import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ResumeRecorder,
  loadResumeRecord,
  saveResumeRecord,
  type ResumeRecord,
} from '../src/resume-record.js';

const record = (confirmed: [number, number][] = []): ResumeRecord => ({
  version: 1,
  clientId: 'dev',
  fileId: 'f',
  size: 100,
  checksum: 'a'.repeat(64),
  segmentSize: 10,
  meta: { name: 'f.bin', size: 100 },
  confirmed,
});

describe('resume record', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqft-resume-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips and leaves no temporary file behind', async () => {
    const path = join(dir, 'r.json');
    await saveResumeRecord(path, record([[0, 30]]));
    expect(await loadResumeRecord(path)).toEqual(record([[0, 30]]));
    expect(await readdir(dir)).toEqual(['r.json']);
  });

  it('treats a missing, corrupt or foreign file as no record', async () => {
    const path = join(dir, 'r.json');
    expect(await loadResumeRecord(path)).toBeUndefined();
    await writeFile(path, '{"version":1,"fileId":');
    expect(await loadResumeRecord(path)).toBeUndefined();
    await writeFile(path, JSON.stringify({ ...record(), confirmed: [['a', 1]] }));
    expect(await loadResumeRecord(path)).toBeUndefined();
    await writeFile(path, JSON.stringify({ ...record(), version: 2 }));
    expect(await loadResumeRecord(path)).toBeUndefined();
  });

  it('the recorder coalesces updates, writes the latest state and removes the file', async () => {
    const path = join(dir, 'r.json');
    let state = record();
    let snapshots = 0;
    const recorder = new ResumeRecorder(path, () => {
      snapshots += 1;
      return state;
    });
    for (let i = 1; i <= 50; i++) {
      state = record([[0, i]]);
      recorder.update();
    }
    await recorder.flush();
    expect(snapshots).toBeLessThan(50);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(record([[0, 50]]));
    await recorder.remove();
    expect(await readdir(dir)).toEqual([]);
    recorder.update();
    await recorder.flush();
    expect(await readdir(dir)).toEqual([]);
  });
});
