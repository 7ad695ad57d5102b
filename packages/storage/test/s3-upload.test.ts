import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { expectQuiet, waitFor } from '@mqft/test-support';
import { MultipartUpload } from '../src/s3-upload.js';
import { sha256 } from './helpers.js';

const MiB = 1024 * 1024;
const PART = 5 * MiB;

/** An S3 client whose UploadParts finish only when the test releases them. */
function stalledClient() {
  const sent: unknown[] = [];
  const stalled: Array<() => void> = [];
  const client = {
    async send(command: unknown) {
      sent.push(command);
      if (command instanceof UploadPartCommand) {
        await new Promise<void>((resolve) => stalled.push(resolve));
        return { ETag: `"etag-${command.input.PartNumber}"` };
      }
      return {};
    },
  } as unknown as S3Client;
  const object = { client, bucket: 'b', key: 'k', location: 's3://b/k', metadata: {} };
  const parts = () => sent.filter((c) => c instanceof UploadPartCommand) as UploadPartCommand[];
  return { object, sent, stalled, parts };
}

describe('MultipartUpload', () => {
  it('holds writes back while the allowed parts are in flight', async () => {
    const { object, sent, stalled, parts } = stalledClient();
    const upload = new MultipartUpload('u', object, PART, 2);
    const bytes = new Uint8Array(3 * PART + 7).fill(7);

    await upload.write(bytes.subarray(0, PART));
    await upload.write(bytes.subarray(PART, 2 * PART));
    let third = false;
    const writing = upload.write(bytes.subarray(2 * PART, 3 * PART)).then(() => (third = true));
    // Two parts in flight: the third write waits.
    await expectQuiet(10, () => {
      expect(third).toBe(false);
      expect(parts()).toHaveLength(2);
    });
    await expect(upload.write(new Uint8Array(1))).rejects.toMatchObject({ code: 'invalid_state' });
    const early = upload.complete({ size: 0, sha256: sha256(new Uint8Array(0)) });
    await expect(early).rejects.toMatchObject({ code: 'invalid_state' });

    stalled.shift()?.();
    await writing;
    expect(parts()).toHaveLength(3);
    await upload.write(bytes.subarray(3 * PART));

    let settled = false;
    const completing = upload.complete({ size: bytes.length, sha256: sha256(bytes) });
    void completing.finally(() => (settled = true)).catch(() => undefined);
    // Each part in flight finishes when released: release them until complete() is done.
    await waitFor(
      () => {
        stalled.shift()?.();
        return settled;
      },
      { intervalMs: 1, what: 'complete()' },
    );
    expect(await completing).toMatchObject({ location: 's3://b/k', size: bytes.length });
    expect(parts().map((p) => [p.input.PartNumber, p.input.ContentLength])).toEqual([
      [1, PART],
      [2, PART],
      [3, PART],
      [4, 7],
    ]);
    const complete = sent.find((c) => c instanceof CompleteMultipartUploadCommand);
    expect((complete as CompleteMultipartUploadCommand).input.MultipartUpload?.Parts).toEqual([
      { PartNumber: 1, ETag: '"etag-1"' },
      { PartNumber: 2, ETag: '"etag-2"' },
      { PartNumber: 3, ETag: '"etag-3"' },
      { PartNumber: 4, ETag: '"etag-4"' },
    ]);
  });

  it('sends no part after abort(), even one that was waiting for a slot', async () => {
    const { object, sent, stalled, parts } = stalledClient();
    const upload = new MultipartUpload('u', object, PART, 1);
    await upload.write(new Uint8Array(PART));
    const waiting = upload.write(new Uint8Array(PART)).catch((err: unknown) => err);
    // The one slot is taken: the second write waits and sends nothing.
    await expectQuiet(10, () => expect(parts()).toHaveLength(1));

    const aborting = upload.abort();
    stalled.shift()?.();
    await aborting;
    expect(await waiting).toMatchObject({ code: 'invalid_state' });
    expect(parts()).toHaveLength(1);
    expect(sent.at(-1)).toBeInstanceOf(AbortMultipartUploadCommand);
    await expect(upload.complete({ size: 0, sha256: '' })).rejects.toMatchObject({
      code: 'invalid_state',
    });
  });
});
