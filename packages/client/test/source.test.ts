import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '@mqft/protocol';
import { upload } from '../src/index.js';
import { openSource } from '../src/source.js';
import { FakeClient } from './fake-client.js';

const bytes = Buffer.from('abcdefghijklmnopqrstuvwxyz');
const streamOf = (...parts: string[]) => Readable.from(parts.map((p) => Buffer.from(p)));

describe('sources', () => {
  it('a stream is read in order, held until released, and hashed as a whole', async () => {
    const source = await openSource({
      stream: streamOf('abc', 'defghij', 'klmnopqrstuvwxyz'),
      size: 26,
    });
    expect((await source.read(0, 10)).toString()).toBe('abcdefghij');
    expect((await source.read(10, 10)).toString()).toBe('klmnopqrst');
    expect((await source.read(5, 10)).toString()).toBe('fghijklmno'); // held: a resend
    source.release(0, 10);
    await expect(source.read(0, 10)).rejects.toMatchObject({ kind: 'source' });
    expect(await source.checksum()).toBe(sha256Hex(bytes));
    await source.close();
  });

  it('a stream shorter than its size fails with kind source', async () => {
    const source = await openSource({ stream: streamOf('abc'), size: 10 });
    await expect(source.read(0, 10)).rejects.toMatchObject({ kind: 'source' });
  });

  it('a missing file fails with kind source', async () => {
    await expect(openSource('/nonexistent/mqft')).rejects.toMatchObject({ kind: 'source' });
  });

  it('an empty file is init, then fin/0', async () => {
    const client = new FakeClient();
    const result = await upload(client.asMqtt, Buffer.alloc(0), { fileId: 'e' }).done;
    expect(client.published.map((p) => p.topic)).toEqual([
      '$file/e/init',
      `$file/e/fin/0/${sha256Hex(Buffer.alloc(0))}`,
    ]);
    expect(result.size).toBe(0);
  });

  it('a stream upload sends its checksum with fin only', async () => {
    const client = new FakeClient();
    const stream = streamOf('abcdefghijklm', 'nopqrstuvwxyz');
    await upload(client.asMqtt, { stream, size: 26 }, { fileId: 's', segmentSize: 8 }).done;
    expect(JSON.parse(client.published[0]!.payload.toString())).toEqual({ name: 's', size: 26 });
    expect(client.published.at(-1)?.topic).toBe(`$file/s/fin/26/${sha256Hex(bytes)}`);
  });
});
