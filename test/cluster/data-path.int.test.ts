import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upload } from '@mqft/client';
import { transferKey } from '@mqft/protocol';
import { waitFor } from '@mqft/test-support';
import { TestDevice, sha256, type Identity } from '../e2e/device.js';
import { startClusterEnv, type ClusterEnv } from './cluster-env.js';

/**
 * The data path on the production topology: Redis Cluster (3 masters), NATS cluster of 3 with
 * an R3 stream, two Mosquitto brokers (A: emqx layout, ingest + assembler + control;
 * B: scoped layout, its own ingest), devices on both, into file storage.
 */
describe('data path on Redis Cluster, a NATS cluster and two brokers', () => {
  let env: ClusterEnv;
  const devices: TestDevice[] = [];
  const device = async (broker: 0 | 1) => {
    const identity: Identity = broker === 0 ? 'user-property' : 'scoped';
    const d = await TestDevice.connect(env.brokers[broker].url, { identity });
    devices.push(d);
    return d;
  };
  const stored = (location: string | undefined) =>
    readFile(fileURLToPath(location ?? 'file:///nonexistent'));

  beforeAll(async () => {
    env = await startClusterEnv({ secondLayout: 'scoped' });
  });
  afterAll(async () => {
    await Promise.allSettled(devices.map((d) => d.close()));
    await env?.stop();
  });

  it('provisions the stream with three replicas on the NATS cluster', async () => {
    const info = await env.jsm.streams.info(env.stream);
    expect(info.config.num_replicas).toBe(3);
    expect(info.cluster?.leader).toBeTruthy();
    expect(info.cluster?.replicas).toHaveLength(2);
  });

  const sizes = [0, 1, 1024 * 1024, 10 * 1024 * 1024];
  it.each(sizes.flatMap((size) => [0, 1].map((broker) => [size, broker as 0 | 1] as const)))(
    'a file of %d bytes from a device on broker %d arrives byte-identical',
    async (size, broker) => {
      const d = await device(broker);
      const data = randomBytes(size);
      const fileId = `f-${size}-b${broker}`;
      const result = await d.upload(fileId, data, { name: 'data.bin', segmentSize: 256 * 1024 });
      expect(result).toMatchObject({ reason_code: 0, reason_description: 'success' });
      expect(result.location).toBe(`file://${env.dir}/${d.clientId}/${fileId}/data.bin`);
      expect(sha256(await stored(result.location))).toBe(sha256(data));
      expect(await d.fin(fileId, size)).toMatchObject({
        reason_code: 0,
        location: result.location,
      });
    },
  );

  // More than MQTT's 256 MB packet limit, through the R3 stream, from each layout.
  const large = randomBytes(300 * 1024 * 1024);
  const largeDigest = sha256(large);
  it.each([0, 1] as const)(
    'a 300 MiB file from a device on broker %d arrives byte-identical',
    async (broker) => {
      const d = await device(broker);
      const fileId = `large-b${broker}`;
      const result = await d.upload(fileId, large, {
        name: 'large.bin',
        segmentSize: 512 * 1024,
        window: 16,
      });
      expect(result).toMatchObject({ reason_code: 0, reason_description: 'success' });
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(fileURLToPath(result.location as string)))
        hash.update(chunk as Buffer);
      expect(hash.digest('hex')).toBe(largeDigest);
    },
    240_000,
  );

  it('carries many concurrent uploads over both brokers, whose keys spread over all masters', async () => {
    const uploads = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const d = await device((i % 2) as 0 | 1);
        const data = randomBytes(100_000 + i * 7_919);
        const result = await d.upload(`many-${i}`, data, { segmentSize: 16 * 1024, window: 8 });
        return { data, result };
      }),
    );
    for (const { data, result } of uploads) {
      expect(result).toMatchObject({ reason_code: 0 });
      expect(sha256(await stored(result.location))).toBe(sha256(data));
    }
    // The completed transfers' metadata lives on every master (hash tags spread them).
    const metaOnMaster = await Promise.all(
      env.redisClient.nodes('master').map(async (m) => {
        const [, batch] = await m.scan('0', 'MATCH', `${env.redisPrefix}ft:*:meta`, 'COUNT', 1000);
        return batch.length;
      }),
    );
    expect(metaOnMaster.filter((n) => n > 0).length).toBe(3);
  });

  it('assembles out of order, overlapping, fin first and init last, across the two brokers', async () => {
    // The same device identity on both brokers: MQTT clientIds may repeat across brokers.
    const a = await device(0);
    const data = randomBytes(200 * 1024);
    const b = await TestDevice.connect(env.brokers[1].url, {
      clientId: a.clientId,
      identity: 'scoped',
    });
    devices.push(b);
    const fin = a.fin('mixed', data.length, sha256(data));
    await b.segment('mixed', 131072, data.subarray(131072, 196608));
    await a.segment('mixed', 65536, data.subarray(65536, 131072));
    await b.segment('mixed', 32768, data.subarray(32768, 98304));
    await a.segment('mixed', 0, data.subarray(0, 65536));
    await b.segment('mixed', 196608, data.subarray(196608));
    expect(await a.init('mixed', { name: 'mixed.bin' })).toMatchObject({ reason_code: 0 });
    const result = await fin;
    expect(result).toMatchObject({ reason_code: 0 });
    expect(sha256(await stored(result.location))).toBe(sha256(data));
  });

  it('recovers a segment record that a Redis failover lost: fin gets incomplete with the missing range after the grace, however often the SDK retransmits it', async () => {
    // Redis Cluster replicates asynchronously: a master killed right after recording a segment
    // may lose that record, while the segment stays durable in the stream and the device was
    // told so. Simulated here exactly: the record and its counters go, as one script wrote them.
    const d = await device(0);
    const fileId = 'lost-record';
    const data = randomBytes(4 * 50_000);
    const meta = { name: 'lost.bin', size: data.length, checksum: sha256(data) };
    expect(await d.init(fileId, meta)).toMatchObject({ reason_code: 0 });
    for (let offset = 0; offset < data.length; offset += 50_000)
      await d.segment(fileId, offset, data.subarray(offset, offset + 50_000));
    const key = transferKey({ clientId: d.clientId, fileId });
    const segs = `${env.redisPrefix}ft:{${key}}:segs`;
    const metaKey = `${env.redisPrefix}ft:{${key}}:meta`;
    await waitFor(async () => (await env.redisClient.zcard(segs)) === 4, { what: 'the records' });
    await env.redisClient
      .multi()
      .zremrangebyscore(segs, 50_000, 50_000)
      .hincrby(metaKey, 'bytes', -50_000)
      .hincrby(metaKey, 'segCount', -1)
      .exec();
    // The SDK goes on from a resume record that has everything confirmed: it sends init again
    // and fin, retransmitting fin every 300 ms while it hears nothing (the grace is 5 s here).
    const resumeFile = join(env.dir, 'lost-record.resume.json');
    await writeFile(
      resumeFile,
      JSON.stringify({
        version: 1,
        clientId: d.clientId,
        fileId,
        size: data.length,
        checksum: sha256(data),
        segmentSize: 50_000,
        meta,
        confirmed: [[0, data.length]],
      }),
    );
    const started = Date.now();
    const result = await upload(d.client, data, {
      fileId,
      resumeFile,
      resultTimeoutMs: 300,
      retry: { maxAttempts: 100, backoffMs: 100, backoffCapMs: 300 },
    }).done;
    expect(Date.now() - started).toBeGreaterThanOrEqual(5_000);
    expect(result.stats.resumedBytes).toBe(data.length);
    expect(sha256(await stored(result.location))).toBe(sha256(data));
  });

  it("leaves nothing behind: no segment maps, no leases, no command messages (a repeated fin's is deleted too)", async () => {
    await waitFor(
      async () =>
        (await env.keys('ft:*:segs')).length === 0 &&
        (await env.keys('ft:*:lease')).length === 0 &&
        Object.keys(await env.streamLeftovers()).length === 0,
      { timeoutMs: 10_000, what: 'no leftovers' },
    ).catch(async (err: Error) => {
      const segs = await env.keys('ft:*:segs');
      const leases = await env.keys('ft:*:lease');
      const messages = await env.streamLeftovers();
      // What the stuck transfers look like, and what the services complained about.
      const stuck = await Promise.all(
        segs.map(async (k) => {
          const m = await env.redisClient.hgetall(k.replace(/:segs$/, ':meta'));
          return { key: k, state: m.state, bytes: m.bytes, finSize: m.finSize, finAt: m.finAt };
        }),
      );
      const services = [...env.stacks[0].assemblers, ...env.stacks.flatMap((s) => s.ingests)];
      const complaints = (await Promise.all(services.map((s) => s.logTail(2000))))
        .flatMap((log) => log.split('\n'))
        .filter((line) => /"level":"(warn|error)"/.test(line))
        .slice(-10)
        .map((line) => line.slice(0, 400));
      const details = { segs, leases, messages, stuck, complaints };
      throw new Error(`${err.message}: ${JSON.stringify(details, null, 1)}`);
    });
    // Every file exactly once.
    const files = await env.storedFiles();
    expect(new Set(files).size).toBe(files.length);
    expect(files.filter((f) => f.endsWith('/data.bin'))).toHaveLength(sizes.length * 2);
    expect(files.filter((f) => f.endsWith('/large.bin'))).toHaveLength(2);
  });
});
