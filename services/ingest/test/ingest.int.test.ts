import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpsServer } from '@mqft/config';
import { sha256Hex, transferKey } from '@mqft/protocol';
import {
  expectQuiet,
  sharedNatsUrl,
  startMosquitto,
  waitFor,
  type ServerHandle,
} from '@mqft/test-support';
import type { IngestConfig } from '../src/config.js';
import { startIngest, type Ingest } from '../src/ingest.js';
import { maxPartBytes } from '../src/segments.js';
import { Device, StreamReader, testConfig } from './helpers.js';

const silent = pino({ level: 'silent' });
const MiB = 1024 * 1024;

describe('ingest (emqx layout, MQTT 5 device)', () => {
  let broker: ServerHandle;
  let config: IngestConfig;
  let ingest: Ingest;
  let device: Device;
  let stream: StreamReader;
  const registry = new Registry();
  const key = (fileId: string) => transferKey({ clientId: 'dev-1', fileId });

  beforeAll(async () => {
    broker = await startMosquitto();
    config = testConfig(broker.url, sharedNatsUrl());
    ingest = await startIngest(config, { logger: silent, registry });
    stream = await StreamReader.open(sharedNatsUrl(), config.stream);
    device = await Device.connect(broker.url, 'dev-1');
  });

  afterAll(async () => {
    await device?.close();
    await ingest?.stop();
    await stream?.close();
    await broker?.stop();
  });

  it('is ready, with its connections counted', async () => {
    expect(ingest.ready()).toBe(true);
    // What runService serves for it on MQFT_HTTP_ADDR.
    const ops = await startOpsServer({
      host: '127.0.0.1',
      port: 0,
      registry: ingest.registry,
      checks: ingest.checks,
      logger: silent,
    });
    try {
      const res = await fetch(`http://127.0.0.1:${ops.port}/readyz`);
      expect(res.status).toBe(200);
    } finally {
      await ops.close();
    }
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/mqft_ingest_mqtt_connections_connected 2/);
  });

  it('stores init as sent, with its reply, for the assembler to answer', async () => {
    const payload = JSON.stringify({ name: 'a.bin', size: 3 * MiB });
    const correlation = Buffer.from('corr-init');
    await device.send('$file/f1/init', payload, {
      responseTopic: 'dev-1/answers',
      correlationData: correlation,
    });
    await waitForStored(stream, key('f1'), (m) => m.some((s) => s.command.kind === 'init'));
    const [init] = (await stream.ofKey(key('f1'))).filter((m) => m.command.kind === 'init');
    expect(init?.subject).toBe(`ft.${config.stream}.cmd.${key('f1')}`);
    expect(init?.body.toString()).toBe(payload);
    expect(init?.msgId).toMatch(/^[0-9a-f-]{36}$/);
    expect(init?.command.reply).toEqual({
      deviceTopic: '$file/f1/init',
      responseTopic: 'dev-1/answers',
      correlation,
    });
  });

  it('splits a 3 MiB segment into parts, and answers success only once all are stored', async () => {
    const payload = randomBytes(3 * MiB);
    const digest = sha256Hex(payload);
    const topic = `$file/f1/0/${digest}`;
    await device.send(topic, payload);
    const result = await device.result(topic);
    // The result came after JetStream's acks, so every part is readable now.
    const parts = (await stream.ofKey(key('f1'))).filter((m) => m.command.kind === 'seg');
    expect(result.json).toMatchObject({ reason_code: 0, reason_description: 'success' });
    expect(result.topic).toBe('$file-response/dev-1');
    const partBytes = maxPartBytes(ingest.nats.info?.max_payload ?? MiB, key('f1'));
    expect(parts).toHaveLength(Math.ceil((3 * MiB) / partBytes));
    expect(parts.map((p) => p.command.offset)).toEqual(parts.map((_, i) => i * partBytes));
    // One Nats-Msg-Id per stored message (retries of a publish dedup; device resends do not).
    expect(new Set(parts.map((p) => p.msgId)).size).toBe(parts.length);
    expect(Buffer.concat(parts.map((p) => p.body)).equals(payload)).toBe(true);
    expect(parts.every((p) => p.command.reply === undefined)).toBe(true);

    // A re-sent segment is answered again and stored again: after a reset (checksum mismatch,
    // lost segments) the assembler needs the new copy, and a later copy replaces an earlier one.
    await device.send(topic, payload);
    await waitForCount(() => device.resultsFor(topic).length, 2);
    expect((await stream.ofKey(key('f1'))).filter((m) => m.command.kind === 'seg')).toHaveLength(
      2 * parts.length,
    );
  });

  it('answers a segment with a bad checksum 0x80 checksum_mismatch and stores nothing', async () => {
    const topic = `$file/f2/0/${sha256Hex(Buffer.from('other bytes'))}`;
    await device.send(topic, 'these bytes');
    const result = await device.result(topic);
    expect(result.json).toMatchObject({
      reason_code: 0x80,
      reason_description: 'checksum_mismatch',
    });
    expect(await stream.ofKey(key('f2'))).toEqual([]);
  });

  it('answers malformed commands 0x83 at once', async () => {
    const cases: [string, string][] = [
      ['$file/f3/12x', 'invalid_offset'],
      ['$file/f3/nope', 'invalid_file_command'],
      ['$file/f3/fin', 'invalid_size'],
      ['$file/f3/0/abc', 'invalid_checksum'],
      ['$file/f3/init', 'invalid_filemeta_json'],
    ];
    await Promise.all(
      cases.map(([topic]) => device.send(topic, topic.endsWith('init') ? '{' : 'x')),
    );
    for (const [topic, reason] of cases) {
      expect((await device.result(topic)).json).toMatchObject({
        reason_code: 0x83,
        reason_description: reason,
      });
    }
    const big = new Uint8Array(4 * MiB + 1);
    await device.send('$file/f3/0', big);
    expect((await device.result('$file/f3/0')).json.reason_description).toBe(
      'invalid_file_command',
    );
    expect(await stream.ofKey(key('f3'))).toEqual([]);
  });

  it('echoes Correlation Data on the Response Topic', async () => {
    const topic = '$file/f4/0';
    const correlation = Buffer.from([0, 1, 2, 254]);
    await device.send(topic, 'abc', {
      responseTopic: 'dev-1/answers',
      correlationData: correlation,
    });
    const result = await device.result(topic);
    expect(result.topic).toBe('dev-1/answers');
    expect(result.correlation).toEqual(correlation);
    expect(result.json.reason_description).toBe('success');
  });

  it('stores fin (size, checksum, reply) and abort without msgID, leaving their answers to the assembler', async () => {
    const sum = sha256Hex(Buffer.from('whole file'));
    await device.send(`$file/f1/fin/${3 * MiB}/${sum}`);
    await device.send('$file/f5/abort', '', { responseTopic: 'dev-1/answers' });
    await device.send(`$file/f1/fin/${3 * MiB}/${sum}`);
    await waitForStored(
      stream,
      key('f1'),
      (m) => m.filter((s) => s.command.kind === 'fin').length === 2,
    );
    await waitForStored(stream, key('f5'), (m) => m.length === 1);
    const fins = (await stream.ofKey(key('f1'))).filter((m) => m.command.kind === 'fin');
    expect(fins[0]?.command).toMatchObject({
      kind: 'fin',
      size: 3 * MiB,
      checksum: sum,
      reply: { deviceTopic: `$file/f1/fin/${3 * MiB}/${sum}` },
    });
    expect(new Set(fins.map((f) => f.msgId)).size).toBe(2);
    const [abort] = await stream.ofKey(key('f5'));
    expect(abort?.command).toMatchObject({
      kind: 'abort',
      reply: { deviceTopic: '$file/f5/abort', responseTopic: 'dev-1/answers' },
    });
    // Fin and abort are the assembler's to answer: ingest says nothing.
    await expectQuiet(200, () => {
      expect(device.resultsFor(`$file/f1/fin/${3 * MiB}/${sum}`)).toEqual([]);
      expect(device.resultsFor('$file/f5/abort')).toEqual([]);
    });
  });

  it('counts commands by kind and result', async () => {
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/mqft_ingest_commands_total\{kind="segment",reason="success"\} [3-9]/);
    expect(metrics).toMatch(
      /mqft_ingest_commands_total\{kind="segment",reason="checksum_mismatch"\} 1/,
    );
    expect(metrics).toMatch(/mqft_ingest_commands_total\{kind="init",reason="forwarded"\} 1/);
    expect(metrics).toMatch(
      /mqft_ingest_commands_total\{kind="unknown",reason="invalid_file_command"\} 1/,
    );
    expect(metrics).toMatch(/mqft_ingest_jetstream_publish_seconds_count\{kind="seg"\} \d+/);
    expect(metrics).toMatch(
      /mqft_results_published_total\{reason="success",outcome="published"\} \d+/,
    );
  });
});

describe('ingest (scoped layout, MQTT 3.1.1 device)', () => {
  let broker: ServerHandle;
  let config: IngestConfig;
  let ingest: Ingest;
  let device: Device;
  let stream: StreamReader;

  beforeAll(async () => {
    broker = await startMosquitto();
    config = testConfig(broker.url, sharedNatsUrl(), { MQFT_LAYOUT: 'scoped' });
    ingest = await startIngest(config, { logger: silent });
    stream = await StreamReader.open(sharedNatsUrl(), config.stream);
    device = await Device.connect(broker.url, 'dev-s', 4);
  });

  afterAll(async () => {
    await device?.close();
    await ingest?.stop();
    await stream?.close();
    await broker?.stop();
  });

  it('takes the clientId from the topic and answers on $file-response/{clientId}', async () => {
    const key = transferKey({ clientId: 'dev-s', fileId: 'f9' });
    await device.send('$file/dev-s/f9/init', JSON.stringify({ name: 'x.txt' }));
    await device.send('$file-async/dev-s/f9/0', 'hello');
    const result = await device.result('$file-async/dev-s/f9/0');
    expect(result.topic).toBe('$file-response/dev-s');
    expect(result.json).toMatchObject({ reason_code: 0, reason_description: 'success' });
    await device.send('$file/dev-s/f9/fin/5');
    await waitForStored(stream, key, (m) => m.length === 3);
    const kinds = (await stream.ofKey(key)).map((m) => m.command.kind).sort();
    expect(kinds).toEqual(['fin', 'init', 'seg']);
  });

  it('answers a topic without the clientId level 0x83', async () => {
    await device.send('$file/dev-s/init');
    expect((await device.result('$file/dev-s/init')).json.reason_code).toBe(0x83);
  });
});

async function waitForStored(
  reader: StreamReader,
  key: string,
  done: (messages: Awaited<ReturnType<StreamReader['ofKey']>>) => boolean,
): Promise<void> {
  await waitFor(async () => done(await reader.ofKey(key)), {
    timeoutMs: 15_000,
    what: `the stream to show what was expected for ${key}`,
  });
}

async function waitForCount(count: () => number, expected: number): Promise<void> {
  await waitFor(() => count() >= expected, {
    timeoutMs: 15_000,
    what: `a count of ${expected} (it is ${count()})`,
  });
}
