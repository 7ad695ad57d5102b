import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStorage, StorageError } from '../src/index.js';
import { dropWritten, TempFileUpload, WRITE_BATCH_BYTES } from '../src/file-upload.js';
import {
  expectSameBytes,
  randomBytes,
  readAll,
  sha256,
  store,
  target,
  writeAll,
} from './helpers.js';

let sandbox: string;
let root: string;
let storage: FileStorage;

beforeEach(async () => {
  sandbox = await mkdtemp(join(tmpdir(), 'mqft-storage-'));
  root = join(sandbox, 'files');
  storage = new FileStorage(root);
});

afterEach(async () => {
  await storage.close();
  await rm(sandbox, { recursive: true, force: true });
});

/** Every file under `dir`, as paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** Files a reader could see: everything but the temporary area. */
async function visibleFiles(): Promise<string[]> {
  return (await filesUnder(root)).filter((p) => !p.startsWith('%tmp/'));
}

describe('FileStorage', () => {
  it('stores a file byte-identical where locate() says, and reads it back', async () => {
    const bytes = randomBytes(300_000);
    const t = target();
    const completed = await store(storage, t, bytes);

    expect(completed).toEqual({
      location: storage.locate(t),
      size: bytes.length,
      sha256: sha256(bytes),
    });
    const path = fileURLToPath(completed.location);
    expect(path).toBe(join(root, 'dev-1', 'f-1', 'report.bin'));
    expectSameBytes(await readFile(path), bytes);
    expectSameBytes(await readAll(await storage.read(t)), bytes);
    expect((await storage.stat(t))?.size).toBe(bytes.length);
    expect(await storage.downloadUrl(t, 60)).toBe(completed.location);
    expect(await filesUnder(join(root, '%tmp'))).toEqual([]);
  });

  it('stores chunks gathered into batched writes, of every size, byte-identical', async () => {
    // 64 KiB segments past WRITE_BATCH_BYTES, then chunks of 1 byte past WRITE_BATCH_CHUNKS,
    // then a tail that stays gathered until complete().
    const bytes = randomBytes(WRITE_BATCH_BYTES * 2 + 200 + 12_345);
    const t = target();
    const upload = await storage.begin(t);
    let offset = 0;
    const put = async (n: number) => {
      await upload.write(bytes.subarray(offset, offset + n));
      offset += n;
    };
    for (let i = 0; i < (WRITE_BATCH_BYTES * 2) / 65_536; i++) await put(65_536);
    await put(0);
    for (let i = 0; i < 200; i++) await put(1);
    await put(12_345);
    expect(offset).toBe(bytes.length);
    const completed = await upload.complete({ size: bytes.length, sha256: sha256(bytes) });
    expectSameBytes(await readFile(fileURLToPath(completed.location)), bytes);
  });

  it('syncs as it writes, so that complete() has little left to flush', async () => {
    const path = join(sandbox, 'synced.tmp');
    const handle = await open(path, 'w');
    const syncs: number[] = [];
    let written = 0;
    const datasync = handle.datasync.bind(handle);
    handle.datasync = () => {
      syncs.push(written);
      return datasync();
    };
    const publish = () => Promise.resolve(`file://${path}`);
    const upload = new TempFileUpload('u', handle, path, publish, `file://${path}`, 1024 * 1024);
    const bytes = randomBytes(5 * 1024 * 1024 + 100);
    for (; written < bytes.length; written += 65_536)
      await upload.write(bytes.subarray(written, written + 65_536));
    // A background fdatasync every MiB written (the batches are 1 MiB), none at complete().
    expect(syncs).toHaveLength(5);
    await upload.complete({ size: bytes.length, sha256: sha256(bytes) });
    expect(syncs).toHaveLength(5);
    expectSameBytes(await readFile(path), bytes);
  });

  it('a background sync that fails fails the upload', async () => {
    const path = join(sandbox, 'failing.tmp');
    const handle = await open(path, 'w');
    handle.datasync = () => Promise.reject(Object.assign(new Error('EIO'), { code: 'EIO' }));
    const publish = () => Promise.resolve(`file://${path}`);
    const upload = new TempFileUpload('u', handle, path, publish, `file://${path}`, 1024 * 1024);
    const bytes = randomBytes(3 * 1024 * 1024);
    const sent = (async () => {
      for (let at = 0; at < bytes.length; at += 65_536)
        await upload.write(bytes.subarray(at, at + 65_536));
      await upload.complete({ size: bytes.length, sha256: sha256(bytes) });
    })();
    await expect(sent).rejects.toThrow(/EIO/);
    await upload.abort();
  });

  it('a short write goes on with the rest of the batch', () => {
    const chunks = [Buffer.from('abc'), Buffer.from('de'), Buffer.from('fgh')];
    const text = (rest: Uint8Array[]) => rest.map((c) => Buffer.from(c).toString()).join('|');
    expect(text(dropWritten(chunks, 0))).toBe('abc|de|fgh');
    expect(text(dropWritten(chunks, 1))).toBe('bc|de|fgh');
    expect(text(dropWritten(chunks, 3))).toBe('de|fgh');
    expect(text(dropWritten(chunks, 6))).toBe('gh');
    expect(dropWritten(chunks, 8)).toEqual([]);
  });

  it('stores a 0-byte file', async () => {
    const t = target({ name: 'empty' });
    await store(storage, t, new Uint8Array(0));
    expect(await storage.stat(t)).toMatchObject({ size: 0 });
    expect(await readAll(await storage.read(t))).toHaveLength(0);
  });

  it('writes the EMQX sidecar before the data and reports it as metadata', async () => {
    const bytes = randomBytes(1000);
    const t = target({ clientId: 'c:1', fileId: '🌚' });
    await store(storage, t, bytes);

    const dir = join(root, 'c%3A1', '🌚');
    expect((await readdir(dir)).sort()).toEqual(['report.bin', 'report.bin.MANIFEST.json']);
    const manifest: unknown = JSON.parse(
      await readFile(join(dir, 'report.bin.MANIFEST.json'), 'utf8'),
    );
    expect(manifest).toEqual({
      clientid: 'c:1',
      fileid: '🌚',
      filemeta: JSON.parse(t.filemetaJson) as unknown,
      'filemeta-vsn': 1,
      size: 1000,
      sha256: sha256(bytes),
    });
    expect((await storage.stat(t))?.metadata).toEqual({
      clientid: 'c:1',
      fileid: '🌚',
      filemeta: JSON.stringify(JSON.parse(t.filemetaJson)),
      'filemeta-vsn': '1',
      size: '1000',
      sha256: sha256(bytes),
    });
  });

  it('keeps every escaped id under the root', async () => {
    const cases: Array<[string, string, string]> = [
      ['.', '..', '%2E/%2E%2E'],
      ['..', '.', '%2E%2E/%2E'],
      ['a/b', '../../etc', 'a%2Fb/..%2F..%2Fetc'],
      ['🌚', 'x\\y', '🌚/x%5Cy'],
      ['\u0000', 'nul\u0000', '%00/nul%00'],
    ];
    for (const [clientId, fileId, dir] of cases) {
      const t = target({ clientId, fileId });
      await store(storage, t, Buffer.from(dir));
      expect(fileURLToPath(storage.locate(t))).toBe(join(root, dir, 'report.bin'));
      expect(await readFile(join(root, dir, 'report.bin'), 'utf8')).toBe(dir);
    }
    expect(await readdir(sandbox)).toEqual(['files']);
    expect(await visibleFiles()).toHaveLength(cases.length * 2);
  });

  it('refuses a key that would leave the root (an empty clientId makes it absolute)', async () => {
    const t = target({ clientId: '' });
    expect(() => storage.locate(t)).toThrow(StorageError);
    await expect(storage.begin(t)).rejects.toMatchObject({ code: 'invalid_target' });
  });

  it('shows nothing of a file before complete()', async () => {
    const t = target();
    const upload = await storage.begin(t);
    await upload.write(randomBytes(10_000));

    expect(await storage.stat(t)).toBeUndefined();
    await expect(storage.read(t)).rejects.toMatchObject({ code: 'not_found' });
    expect(await visibleFiles()).toEqual([]);
    expect(await filesUnder(join(root, '%tmp'))).toEqual([upload.uploadId]);
    await upload.abort();
  });

  it('leaves nothing behind after abort(), which may be repeated', async () => {
    const t = target();
    const upload = await storage.begin(t);
    await upload.write(randomBytes(10_000));
    await upload.abort();
    await upload.abort();

    expect(await filesUnder(root)).toEqual([]);
    await expect(upload.write(new Uint8Array(1))).rejects.toMatchObject({ code: 'invalid_state' });
    await expect(upload.complete({ size: 0, sha256: sha256(new Uint8Array(0)) })).rejects.toThrow(
      StorageError,
    );
    expect(await storage.stat(t)).toBeUndefined();
  });

  it('refuses to complete bytes that differ from what the caller verified', async () => {
    const t = target();
    const bytes = randomBytes(5000);
    const upload = await storage.begin(t);
    await writeAll(upload, bytes);
    const wrong = { size: bytes.length, sha256: sha256(Buffer.from('other')) };
    await expect(upload.complete(wrong)).rejects.toMatchObject({ code: 'checksum_mismatch' });

    const short = await storage.begin(t);
    await writeAll(short, bytes);
    await expect(short.complete({ size: 1, sha256: sha256(bytes) })).rejects.toMatchObject({
      code: 'size_mismatch',
    });
    expect(await filesUnder(root)).toEqual([]);
  });

  it('aborts a predecessor’s unfinished upload by its id', async () => {
    const t = target();
    const upload = await storage.begin(t);
    await upload.write(randomBytes(100));

    await storage.abortUnfinished(t, upload.uploadId);
    await storage.abortUnfinished(t, upload.uploadId);
    await storage.abortUnfinished(t);
    expect(await filesUnder(root)).toEqual([]);
    await expect(storage.abortUnfinished(t, '../files/x')).rejects.toMatchObject({
      code: 'invalid_target',
    });
    await upload.abort(); // the predecessor's own handle, which a real one would not share
  });

  it('aborts a predecessor’s upload whose id was never recorded, and only this target’s', async () => {
    // A writer killed (kill -9) between begin() and recording its upload id: the successor
    // knows no id, yet finds the temp file by its target (test/chaos, assembler-kill).
    const t = target();
    const other = target({ fileId: 'f-2' });
    const lost = await storage.begin(t);
    await lost.write(randomBytes(100));
    const kept = await storage.begin(other);
    await kept.write(randomBytes(100));
    // A sidecar's temp file the writer left while publishing, and a stranger's file.
    const sidecarTemp = lost.uploadId.replace(/\.part$/, '.manifest');
    await writeFile(join(root, '%tmp', sidecarTemp), '{}');
    await writeFile(join(root, '%tmp', 'notes.txt'), 'not an upload');

    await storage.abortUnfinished(t);
    expect(await filesUnder(join(root, '%tmp'))).toEqual([kept.uploadId, 'notes.txt'].sort());
    await storage.abortUnfinished(t, undefined, 1234);

    // The other target's upload still completes.
    await kept.complete(kept.written());
    expect(await visibleFiles()).toEqual([
      'dev-1/f-2/report.bin',
      'dev-1/f-2/report.bin.MANIFEST.json',
    ]);
    await lost.abort();
  });

  it('accepts the upload ids of earlier versions (`<uuid>.part`)', async () => {
    const t = target();
    const legacy = '0f8fad5b-d9cb-469f-a165-70867728950e.part';
    await mkdir(join(root, '%tmp'), { recursive: true });
    await writeFile(join(root, '%tmp', legacy), 'old');
    await storage.abortUnfinished(t, legacy);
    expect(await filesUnder(join(root, '%tmp'))).not.toContain(legacy);
  });

  it('runs concurrent uploads to different targets without mixing bytes', async () => {
    const files = Array.from({ length: 12 }, (_, i) => ({
      t: target({ clientId: `dev-${i % 3}`, fileId: `file-${i}` }),
      bytes: randomBytes(50_000 + i * 7919),
    }));
    await Promise.all(
      files.map(async ({ t, bytes }) => {
        const upload = await storage.begin(t);
        await writeAll(upload, bytes, 4096);
        await upload.complete({ size: bytes.length, sha256: sha256(bytes) });
      }),
    );
    for (const { t, bytes } of files) expectSameBytes(await readAll(await storage.read(t)), bytes);
  });

  it('replaces a file atomically when the same transfer is stored again', async () => {
    const t = target();
    await store(storage, t, Buffer.from('first'));
    await store(storage, t, Buffer.from('second'));
    expect(await readAll(await storage.read(t))).toEqual(Buffer.from('second'));
    expect((await storage.stat(t))?.metadata.size).toBe('6');
  });

  it('deletes idempotently', async () => {
    const t = target();
    await store(storage, t, Buffer.from('bytes'));
    await storage.delete(t);
    await storage.delete(t);
    expect(await storage.stat(t)).toBeUndefined();
    expect(await visibleFiles()).toEqual([]);
  });

  it('reports a file placed by hand, without a sidecar, with empty metadata', async () => {
    const t = target();
    await store(storage, t, Buffer.from('x'));
    await rm(fileURLToPath(storage.locate(t)) + '.MANIFEST.json');
    expect(await storage.stat(t)).toEqual({ size: 1, metadata: {} });
    await writeFile(fileURLToPath(storage.locate(t)), 'xyz');
    expect((await stat(fileURLToPath(storage.locate(t)))).size).toBe(3);
  });
});
