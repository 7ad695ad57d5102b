import { randomBytes } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../e2e/device.js';
import { HostileHarness } from './harness.js';

// Issue 14, case 1: poison filemeta. A 5000-level init (10 KB) used to be accepted, then every
// assembly threw in JSON.stringify and was retried for ever; a legitimate 4 KiB user_data
// overflowed S3's 2 KB user-metadata limit the same way. Against S3 (s3rver), which does not
// enforce the limit itself, so the test measures what mqft sends.
const S3_USER_METADATA_BYTES = 2048;

describe('hostile device: poison filemeta', () => {
  let h: HostileHarness;
  let s3: S3Client;
  beforeAll(async () => {
    h = await HostileHarness.start({ storage: 's3' });
    s3 = new S3Client(h.s3?.clientConfig() ?? {});
  });
  afterAll(async () => {
    s3?.destroy();
    await h?.stop();
  });

  it('an init nested 5000 levels deep (in an unknown field) is refused at init with 0x83', async () => {
    const d = await h.device();
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const started = Date.now();
    const init = await d.send('$file/poison/init', `{"name":"a.bin","size":1,"x":${deep}}`);
    expect(init).toMatchObject({ reason_code: 0x83, reason_description: 'invalid_filemeta' });
    expect(Date.now() - started).toBeLessThan(2_000);
    // Refused by ingest: nothing reached the stream or Redis for the assembler to choke on.
    await h.afterCase();
  });

  it('a 4 KiB user_data is stored: S3 metadata within 2 KB, the full filemeta beside it', async () => {
    const d = await h.device();
    const userData = { note: 'u'.repeat(4096 - '{"note":""}'.length) };
    expect(JSON.stringify(userData).length).toBe(4096);
    const filemeta = JSON.stringify({ name: 'ud.bin', user_data: userData });
    expect(await d.send('$file/ud/init', filemeta)).toMatchObject({ reason_code: 0 });
    const data = randomBytes(1000);
    expect(await d.send('$file/ud/0', data)).toMatchObject({ reason_code: 0 });
    const fin = await d.send(`$file/ud/fin/${data.length}/${sha256(data)}`, '', {
      timeoutMs: 10_000,
    });
    expect(fin).toMatchObject({ reason_code: 0 });
    const location = fin.location as string;
    const key = location.replace(`s3://${h.bucket}/`, '');
    const head = await s3.send(new HeadObjectCommand({ Bucket: h.bucket, Key: key }));
    const metadataBytes = Object.entries(head.Metadata ?? {}).reduce(
      (n, [k, v]) => n + Buffer.byteLength(`x-amz-meta-${k}`) + Buffer.byteLength(v),
      0,
    );
    expect(metadataBytes).toBeLessThanOrEqual(S3_USER_METADATA_BYTES);
    const sidecar = await s3.send(
      new GetObjectCommand({ Bucket: h.bucket, Key: `${key}.filemeta.json` }),
    );
    expect(JSON.parse(await (sidecar.Body?.transformToString() ?? ''))).toEqual(
      JSON.parse(filemeta),
    );
    // A repeated fin finds the stored file this transfer's (storedCompletion reads the sidecar).
    expect(
      await d.send(`$file/ud/fin/${data.length}/${sha256(data)}`, '', { timeoutMs: 10_000 }),
    ).toMatchObject({ reason_code: 0, location });
    await h.afterCase();
  });
});
