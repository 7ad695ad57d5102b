import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { Range } from './ranges.js';

/**
 * What a later process needs to go on with an upload: which transfer it is, the exact init
 * metadata (a repeated init must be identical to be a no-op) and the ranges the cluster
 * confirmed as durable.
 */
export interface ResumeRecord {
  version: 1;
  clientId: string;
  fileId: string;
  size: number;
  /** SHA-256 of the whole source: a record is only used for the same bytes. */
  checksum: string;
  segmentSize: number;
  /** The init payload as sent. */
  meta: Record<string, unknown>;
  confirmed: Range[];
}

/** The record at `path`, or undefined when there is none or it is unreadable. */
export async function loadResumeRecord(path: string): Promise<ResumeRecord | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const value = JSON.parse(text) as Partial<ResumeRecord>;
    return isResumeRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The record at `path` if it describes the same upload: same bytes (size and checksum), same
 * device, and the same fileId when the caller names one. Anything else is a stale record.
 */
export async function loadMatchingRecord(
  path: string,
  expected: {
    size: number;
    checksum: string | undefined;
    clientId: string;
    fileId?: string | undefined;
  },
): Promise<ResumeRecord | undefined> {
  const record = await loadResumeRecord(path);
  if (record === undefined) return undefined;
  const same =
    record.size === expected.size &&
    record.checksum === expected.checksum &&
    record.clientId === expected.clientId &&
    (expected.fileId === undefined || expected.fileId === record.fileId);
  return same ? record : undefined;
}

function isResumeRecord(value: Partial<ResumeRecord>): value is ResumeRecord {
  return (
    value.version === 1 &&
    typeof value.clientId === 'string' &&
    typeof value.fileId === 'string' &&
    typeof value.size === 'number' &&
    typeof value.checksum === 'string' &&
    typeof value.segmentSize === 'number' &&
    value.segmentSize > 0 &&
    typeof value.meta === 'object' &&
    value.meta !== null &&
    Array.isArray(value.confirmed) &&
    value.confirmed.every(
      (r) => Array.isArray(r) && typeof r[0] === 'number' && typeof r[1] === 'number',
    )
  );
}

/** Writes the record atomically: a reader (or a crash) sees the old or the new one, whole. */
export async function saveResumeRecord(path: string, record: ResumeRecord): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(3).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, JSON.stringify(record));
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export async function removeResumeRecord(path: string): Promise<void> {
  await rm(path, { force: true });
}

/**
 * Keeps the record on disk up to date while segments are confirmed, without writing once per
 * segment: at most one write is in progress, and the next one takes the latest state.
 */
export class ResumeRecorder {
  private writing: Promise<void> | undefined;
  private dirty = false;
  private closed = false;
  /** The last write error, if any (the upload goes on; resuming is best effort). */
  lastError: unknown;

  constructor(
    private readonly path: string,
    private readonly snapshot: () => ResumeRecord,
  ) {}

  /** Schedules a write of the current state. */
  update(): void {
    if (this.closed) return;
    this.dirty = true;
    this.writing ??= this.drain();
  }

  private async drain(): Promise<void> {
    while (this.dirty && !this.closed) {
      this.dirty = false;
      try {
        await saveResumeRecord(this.path, this.snapshot());
      } catch (err) {
        this.lastError = err;
      }
    }
    this.writing = undefined;
  }

  /** Waits for pending writes. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /** Stops writing and deletes the record (the upload is over for good). */
  async remove(): Promise<void> {
    this.closed = true;
    await this.flush();
    await removeResumeRecord(this.path);
  }
}
