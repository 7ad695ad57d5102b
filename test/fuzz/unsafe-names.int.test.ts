import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListBucketsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeKeyComponent } from '@mqft/protocol';
import { startMqftStack, startS3Stack, type MqftStack, type S3Stack } from '@mqft/test-support';
import { sha256 } from '../e2e/device.js';
import { Prober } from './prober.js';

// Names that try to climb out of the storage prefix. Every (clientId, fileId, name) below is
// valid protocol-wise, so each upload must succeed AND land exactly at
// <root>/<esc(clientId)>/<esc(fileId)>/<name>, never anywhere else.
const CLIENT_IDS = ['..', '.', 'a/../../etc', '%2e%2e', '\\', '..\\..\\x', '/abs', 'ü'.repeat(100)];
const FILE_IDS = ['..', '.', '%2e%2e', '\\', '..%2F..', 'a\\..\\..\\b', ':', '🌚'.repeat(63)];
// 'ü' x 100 is 200 bytes: escaped components stay within the file systems' 255-byte NAME_MAX,
// with room for s3rver's own suffixes (it stores objects as files).
const NAMES = ['a..b', '%2e%2e', '中文.txt', '…', ' .', 'ф'.repeat(100)];

interface Upload {
  clientId: string;
  fileId: string;
  name: string;
  data: Buffer;
}

// Each clientId with two of the fileIds (every fileId twice), not the whole cross product:
// queued fins are assembled at about MQFT_ASSEMBLY_CONCURRENCY per second (see
// docs/security.md), and 64 uploads would take half a minute.
const uploads: Upload[] = CLIENT_IDS.flatMap((clientId, i) =>
  [i, (i + 3) % FILE_IDS.length].map((j) => ({
    clientId,
    fileId: FILE_IDS[j] as string,
    name: NAMES[(i + j) % NAMES.length] as string,
    data: randomBytes(100 + i * 10 + j),
  })),
);

async function uploadAll(p: Prober): Promise<string[]> {
  return Promise.all(
    uploads.map(async ({ clientId, fileId, name, data }) => {
      const send = (command: string, payload: Buffer | string = '') =>
        p.send(`$file/${fileId}/${command}`, payload, 60_000, clientId);
      const init = await send('init', JSON.stringify({ name }));
      expect(init, JSON.stringify(init)).toMatchObject({ reason_code: 0 });
      const segment = await send('0', data);
      expect(segment, JSON.stringify(segment)).toMatchObject({ reason_code: 0 });
      const fin = await send(`fin/${data.length}/${sha256(data)}`);
      expect(fin, JSON.stringify(fin)).toMatchObject({ reason_code: 0 });
      return fin.location as string;
    }),
  );
}

/** Every file under `dir`, relative, with '/' separators. */
async function walk(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full, base)));
    else out.push(path.relative(base, full).split(path.sep).join('/'));
  }
  return out;
}

const relativeKey = (u: Upload) =>
  `${escapeKeyComponent(u.clientId)}/${escapeKeyComponent(u.fileId)}/${u.name}`;

describe('unsafe names stay inside the storage prefix: file backend', () => {
  let parent: string;
  let root: string;
  let stack: MqftStack;
  let prober: Prober;

  beforeAll(async () => {
    parent = await mkdtemp(path.join(tmpdir(), 'mqft-names-'));
    root = path.join(parent, 'root', 'files');
    await mkdir(path.join(parent, 'sibling'));
    stack = await startMqftStack({
      storage: `file://${root}`,
      env: { MQFT_MAX_ACTIVE_TRANSFERS: '64' },
    });
    prober = await Prober.connect(stack.mqttUrl);
  });
  afterAll(async () => {
    await prober?.close();
    await stack?.stop();
    await rm(parent, { recursive: true, force: true });
  });

  it('stores each upload at <root>/<esc(clientId)>/<esc(fileId)>/<name> and nowhere else', async () => {
    const locations = await uploadAll(prober);
    expect(locations.map((l) => fileURLToPath(l))).toEqual(
      uploads.map((u) => path.join(root, ...relativeKey(u).split('/'))),
    );
    const files = await walk(root);
    const expected = uploads.flatMap((u) => [relativeKey(u), `${relativeKey(u)}.MANIFEST.json`]);
    expect(files.sort()).toEqual(expected.sort());
    for (const u of uploads) {
      const stored = await readFile(path.join(root, ...relativeKey(u).split('/')));
      expect(sha256(stored)).toBe(sha256(u.data));
    }
    // Nothing outside the root: its parents hold only what the test made.
    expect((await readdir(parent)).sort()).toEqual(['root', 'sibling']);
    expect(await readdir(path.join(parent, 'root'))).toEqual(['files']);
    expect(await readdir(path.join(parent, 'sibling'))).toEqual([]);
  });

  // Found by this suite: a clientId or fileId that escaping makes longer than NAME_MAX (255
  // bytes) cannot be a directory; the assembler used to retry such a fin for ever. Init now
  // refuses it (0x83 invalid_fileid) before any segment is sent.
  it('refuses at init a clientId or fileId whose escaped component exceeds 255 bytes', async () => {
    const cases = [
      { clientId: 'ü'.repeat(128), fileId: 'long-client' },
      { clientId: 'dev-long-file', fileId: '%'.repeat(86) },
    ];
    for (const { clientId, fileId } of cases) {
      const init = await prober.send(
        `$file/${fileId}/init`,
        JSON.stringify({ name: 'x.bin' }),
        30_000,
        clientId,
      );
      expect(init, JSON.stringify(init)).toMatchObject({
        reason_code: 0x83,
        reason_description: 'invalid_fileid',
      });
    }
    expect(await readdir(root)).not.toContain(escapeKeyComponent('ü'.repeat(128)));
    expect(await readdir(root)).not.toContain('dev-long-file');
  });
});

describe('unsafe names stay inside the storage prefix: S3', () => {
  let s3: S3Stack;
  let prober: Prober;

  beforeAll(async () => {
    s3 = await startS3Stack({
      prefix: 'pre/fix',
      bucketPrefix: 'mqft-names',
      env: { MQFT_MAX_ACTIVE_TRANSFERS: '64' },
    });
    prober = await Prober.connect(s3.stack.mqttUrl);
  });
  afterAll(async () => {
    await prober?.close();
    await s3?.stop();
  });

  it('every object key is <prefix>/<esc(clientId)>/<esc(fileId)>/<name>', async () => {
    await uploadAll(prober);
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.client.send(
        new ListObjectsV2Command({ Bucket: s3.bucket, ContinuationToken: token }),
      );
      keys.push(...(page.Contents ?? []).map((o) => o.Key as string));
      token = page.NextContinuationToken;
    } while (token);
    expect(keys.sort()).toEqual(uploads.map((u) => `pre/fix/${relativeKey(u)}`).sort());
    const buckets = await s3.client.send(new ListBucketsCommand({}));
    expect(buckets.Buckets?.map((b) => b.Name)).toEqual([s3.bucket]);
  });
});
