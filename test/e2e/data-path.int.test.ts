import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMqftStack, type MqftStack } from '@mqft/test-support';
import { TestDevice, sha256 } from './device.js';

/**
 * The data path through real processes (project Mosquitto with the loopback bridge, 2 ingest,
 * 2 assembler, shared NATS and Redis under unique names) into file storage.
 */
describe('data path into file storage', () => {
  let stack: MqftStack;
  let dir: string;
  const devices: TestDevice[] = [];
  const device = async (options: Parameters<typeof TestDevice.connect>[1] = {}) => {
    const d = await TestDevice.connect(stack.mqttUrl, options);
    devices.push(d);
    return d;
  };
  const stored = (location: string | undefined) =>
    readFile(fileURLToPath(location ?? 'file:///nonexistent'));
  const exists = (path: string) =>
    stat(path).then(
      () => true,
      () => false,
    );

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqft-e2e-'));
    stack = await startMqftStack({
      storage: `file://${dir}`,
      ingests: 2,
      assemblers: 2,
      env: { MQFT_FIN_GRACE: '2s', MQFT_MAX_FILE_SIZE: '400MiB', MQFT_MAX_ACTIVE_TRANSFERS: '4' },
    });
  });
  afterAll(async () => {
    await Promise.all(devices.map((d) => d.close()));
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it.each([0, 1, 1024 * 1024, 10 * 1024 * 1024])(
    'a file of %d bytes arrives byte-identical',
    async (size) => {
      const d = await device();
      const data = randomBytes(size);
      const result = await d.upload(`f-${size}`, data, {
        name: 'data.bin',
        segmentSize: 256 * 1024,
      });
      expect(result).toMatchObject({ reason_code: 0, reason_description: 'success' });
      expect(result.location).toBe(`file://${dir}/${d.clientId}/f-${size}/data.bin`);
      expect(sha256(await stored(result.location))).toBe(sha256(data));
      // A repeated fin answers success again with the location.
      expect(await d.fin(`f-${size}`, size)).toMatchObject({
        reason_code: 0,
        location: result.location,
      });
    },
  );

  it('assembles segments that arrive out of order, twice, overlapping, with fin first and init last', async () => {
    const d = await device();
    const data = randomBytes(200 * 1024);
    const seg = (from: number, to: number) =>
      d.segment('mixed', from, data.subarray(from, Math.min(to, data.length)));
    const fin = d.fin('mixed', data.length, sha256(data));
    await seg(131072, 196608);
    await seg(65536, 131072);
    await seg(65536, 131072);
    await seg(32768, 98304); // overlaps both neighbours
    await seg(0, 65536);
    await seg(196608, 204800);
    expect(await d.init('mixed', { name: 'mixed.bin' })).toMatchObject({ reason_code: 0 });
    const result = await fin;
    expect(result).toMatchObject({ reason_code: 0 });
    expect(sha256(await stored(result.location))).toBe(sha256(data));
  });

  it('fails a fin with gaps after the grace, listing the missing ranges, and completes after the resend', async () => {
    const d = await device();
    const data = randomBytes(256 * 1024);
    await d.init('gappy', { name: 'gappy.bin' });
    await d.segment('gappy', 0, data.subarray(0, 65536));
    await d.segment('gappy', 131072, data.subarray(131072, 196608));
    const failed = await d.fin('gappy', data.length);
    expect(failed).toMatchObject({ reason_code: 0x80, reason_description: 'incomplete' });
    expect(failed.missing).toEqual([
      [65536, 131072],
      [196608, 262144],
    ]);
    for (const [start, end] of failed.missing ?? [])
      await d.segment('gappy', start, data.subarray(start, end));
    const result = await d.fin('gappy', data.length, sha256(data));
    expect(result).toMatchObject({ reason_code: 0 });
    expect(sha256(await stored(result.location))).toBe(sha256(data));
  });

  it('abort drops the transfer: fin afterwards is refused and nothing is stored', async () => {
    const d = await device();
    const data = randomBytes(100_000);
    await d.init('dropped', { name: 'dropped.bin' });
    await d.segment('dropped', 0, data.subarray(0, 50_000));
    expect(await d.send(d.topic('dropped', 'abort'))).toMatchObject({ reason_code: 0 });
    await d.segment('dropped', 50_000, data.subarray(50_000));
    expect(await d.fin('dropped', data.length)).toMatchObject({
      reason_code: 0x83,
      reason_description: 'aborted',
    });
    expect(await exists(join(dir, d.clientId, 'dropped'))).toBe(false);
  });

  it('a whole-file checksum mismatch fails the fin and leaves nothing visible; a resend then completes', async () => {
    const d = await device();
    const data = randomBytes(70_000);
    await d.init('wrongsum', { name: 'w.bin' });
    await d.segment('wrongsum', 0, data);
    expect(await d.fin('wrongsum', data.length, sha256(randomBytes(4)))).toMatchObject({
      reason_code: 0x80,
      reason_description: 'checksum_mismatch',
    });
    expect(await exists(join(dir, d.clientId, 'wrongsum', 'w.bin'))).toBe(false);
    // The segments were dropped: the device sends them all again.
    await d.segment('wrongsum', 0, data);
    const result = await d.fin('wrongsum', data.length, sha256(data));
    expect(result).toMatchObject({ reason_code: 0 });
    expect(sha256(await stored(result.location))).toBe(sha256(data));
  });

  it("bytes past fin's size are ignored", async () => {
    const d = await device();
    const data = randomBytes(1000);
    await d.init('short', { name: 's.bin', size: 600 });
    await d.segment('short', 0, data);
    const result = await d.fin('short', 600);
    expect(sha256(await stored(result.location))).toBe(sha256(data.subarray(0, 600)));
  });

  it('rejects bad commands with their reason codes, while another upload goes on unaffected', async () => {
    const good = await device();
    const goodData = randomBytes(3 * 1024 * 1024);
    const goodUpload = good.upload('unaffected', goodData, { segmentSize: 64 * 1024 });
    const d = await device();
    const cases: [string, Buffer | string, number, string][] = [
      ['$file/x/bogus', '', 0x83, 'invalid_file_command'],
      ['$file/x/-1', 'abc', 0x83, 'invalid_offset'],
      ['$file/x/fin', '', 0x83, 'invalid_size'],
      ['$file/x/0/zz', 'abc', 0x83, 'invalid_checksum'],
      [`$file/x/0/${sha256(Buffer.from('other'))}`, 'abc', 0x80, 'checksum_mismatch'],
      ['$file/x/init', '{not json', 0x83, 'invalid_filemeta_json'],
      ['$file/x/init', JSON.stringify({ name: '../x' }), 0x83, 'invalid_filemeta'],
      ['$file/x/init', JSON.stringify({ name: 'a/b' }), 0x83, 'invalid_filemeta'],
      ['$file/x/init', JSON.stringify({ name: 'a\u0000b' }), 0x83, 'invalid_filemeta'],
      [
        '$file/x/init',
        JSON.stringify({ name: 'big', size: 500 * 2 ** 20 }),
        0x83,
        'file_too_large',
      ],
      [`$file/x/${400 * 2 ** 20}`, 'abc', 0x83, 'file_too_large'],
      [`$file/x/fin/${500 * 2 ** 20}`, '', 0x83, 'file_too_large'],
    ];
    for (const [topic, payload, code, description] of cases) {
      expect(await d.send(topic, payload), topic).toMatchObject({
        reason_code: code,
        reason_description: description,
        topic,
      });
    }
    expect(await d.init('meta', { name: 'one.bin' })).toMatchObject({ reason_code: 0 });
    expect(await d.init('meta', { name: 'one.bin' })).toMatchObject({ reason_code: 0 });
    expect(await d.init('meta', { name: 'two.bin' })).toMatchObject({
      reason_code: 0x83,
      reason_description: 'filemeta_conflict',
    });
    const result = await goodUpload;
    expect(result).toMatchObject({ reason_code: 0 });
    expect(sha256(await stored(result.location))).toBe(sha256(goodData));
  });

  it('holds the quota of active transfers per client, and frees a slot when a transfer completes', async () => {
    const d = await device();
    for (let i = 0; i < 4; i++)
      expect(await d.init(`q${i}`, { name: 'q.bin' })).toMatchObject({ reason_code: 0 });
    expect(await d.init('q4', { name: 'q.bin' })).toMatchObject({
      reason_code: 0x97,
      reason_description: 'quota_exceeded',
    });
    expect(await d.fin('q0', 0)).toMatchObject({ reason_code: 0 });
    expect(await d.init('q4', { name: 'q.bin' })).toMatchObject({ reason_code: 0 });
  });
});
