import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transferKey } from '@mqft/protocol';
import { startMosquitto, startNats, waitFor, type ServerHandle } from '@mqft/test-support';
import type { IngestConfig } from '../src/config.js';
import { startIngest, type Ingest } from '../src/ingest.js';
import { Device, StreamReader, testConfig } from './helpers.js';

const silent = pino({ level: 'silent' });

describe('ingest when NATS or ingest itself goes away', () => {
  let broker: ServerHandle;
  let nats: ServerHandle;
  let config: IngestConfig;
  let ingest: Ingest | undefined;
  let device: Device;
  let stream: StreamReader;
  const start = () => startIngest(config, { logger: silent, retryBudgetMs: 1_500 });

  beforeAll(async () => {
    [broker, nats] = await Promise.all([startMosquitto(), startNats()]);
    config = testConfig(broker.url, nats.url);
    ingest = await start();
    stream = await StreamReader.open(nats.url, config.stream);
    device = await Device.connect(broker.url, 'dev-r');
  });

  afterAll(async () => {
    await device?.close();
    await ingest?.stop();
    await stream?.close(false);
    await Promise.all([broker?.stop(), nats?.stop()]);
  });

  it('answers 0x80 unavailable while JetStream is down, and success once it is back', async () => {
    await nats.kill();
    await waitFor(() => ingest?.ready() === false, { what: 'readiness to follow NATS' });
    await device.send('$file/r1/0', 'abc');
    const down = await device.result('$file/r1/0');
    expect(down.json).toMatchObject({ reason_code: 0x80, reason_description: 'unavailable' });

    await nats.restart();
    await waitFor(() => ingest?.ready() === true, { timeoutMs: 15_000, what: 'NATS reconnect' });
    device.results.length = 0;
    await device.send('$file/r1/0', 'abc');
    expect((await device.result('$file/r1/0')).json.reason_description).toBe('success');
    // The reader's own connection may still be reconnecting.
    const key = transferKey({ clientId: 'dev-r', fileId: 'r1' });
    let stored: Awaited<ReturnType<StreamReader['ofKey']>> = [];
    await waitFor(async () => (stored = await stream.ofKey(key)).length > 0, { timeoutMs: 15_000 });
    expect(stored.map((m) => m.body.toString())).toEqual(['abc']);
  });

  it('gets what the broker queued for its sessions while it was stopped', async () => {
    await ingest?.stop();
    ingest = undefined;
    const topics = Array.from({ length: 6 }, (_, i) => `$file/r2/${i * 10}`);
    // Queued by Mosquitto for the offline persistent sessions of the shared subscription.
    for (const topic of topics) await device.send(topic, 'ten bytes!');
    ingest = await start();
    for (const topic of topics) {
      expect((await device.result(topic)).json.reason_description).toBe('success');
    }
    const stored = await stream.ofKey(transferKey({ clientId: 'dev-r', fileId: 'r2' }));
    expect(stored.map((m) => m.command.offset).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([
      0, 10, 20, 30, 40, 50,
    ]);
  });
});
