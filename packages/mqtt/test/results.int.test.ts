import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, waitFor, type ServerHandle } from '@mqft/test-support';
import { connectMqtt, createResultPublisher, endMqtt, type ResultPublisher } from '../src/index.js';

interface Received {
  topic: string;
  json: Record<string, unknown>;
  correlation: Buffer | undefined;
}

describe('publishResult against Mosquitto', () => {
  const logger = pino({ level: 'silent' });
  const registry = new Registry();
  const received: Received[] = [];
  let broker: ServerHandle;
  let service: MqttClient;
  let device: MqttClient;
  let results: ResultPublisher;

  beforeAll(async () => {
    broker = await startMosquitto({ bridge: false });
    service = await connectMqtt({ url: broker.url, clientId: 'svc-results', clean: true, logger });
    device = await mqtt.connectAsync(broker.url, { clientId: 'dev-1', protocolVersion: 5 });
    device.on('message', (topic, payload, packet: IPublishPacket) => {
      const correlation = packet.properties?.correlationData;
      received.push({
        topic,
        json: JSON.parse(payload.toString()) as Record<string, unknown>,
        correlation,
      });
    });
    await device.subscribeAsync(['my/answers', '$file-response/dev-1'], { qos: 1 });
    results = createResultPublisher(service, registry, logger);
  });

  afterAll(async () => {
    await device?.endAsync();
    if (service) await endMqtt(service);
    await broker?.stop();
  });

  it('answers on the Response Topic with the Correlation Data echoed', async () => {
    const reply = {
      deviceTopic: '$file/f1/0',
      responseTopic: 'my/answers',
      correlation: Buffer.from([1, 2, 3]),
    };
    const outcome = await results.publish(
      { reply, clientId: 'dev-1', anonymous: false },
      { reason: 'checksum_mismatch' },
    );
    expect(outcome).toBe('published');
    await waitFor(() => received.some((r) => r.topic === 'my/answers'));
    const got = received.find((r) => r.topic === 'my/answers');
    expect(got?.json).toEqual({
      vsn: '0.1',
      topic: '$file/f1/0',
      reason_code: 0x80,
      reason_description: 'checksum_mismatch',
    });
    expect(got?.correlation).toEqual(Buffer.from([1, 2, 3]));
  });

  it('falls back to $file-response/{clientId}, with missing ranges and location when given', async () => {
    const reply = { deviceTopic: '$file/f1/fin/10' };
    const target = { reply, clientId: 'dev-1', anonymous: false };
    expect(await results.publish(target, { reason: 'incomplete', missing: [[0, 5]] })).toBe(
      'published',
    );
    await waitFor(() => received.some((r) => r.topic === '$file-response/dev-1'));
    const got = received.find((r) => r.topic === '$file-response/dev-1');
    expect(got?.json).toEqual({
      vsn: '0.1',
      topic: '$file/f1/fin/10',
      reason_code: 0x80,
      reason_description: 'incomplete',
      missing: [[0, 5]],
    });
    expect(got?.correlation).toBeUndefined();
  });

  it('only logs (and counts) a result nobody can receive', async () => {
    const reply = { deviceTopic: '$file/f2/init' };
    expect(
      await results.publish({ reply, clientId: '\u0000', anonymous: true }, { reason: 'success' }),
    ).toBe('unanswerable');
    const metrics = await registry.getMetricsAsJSON();
    const values = metrics.find((m) => m.name === 'mqft_results_published_total')?.values ?? [];
    const count = (reason: string, outcome: string) =>
      values.find((v) => v.labels.reason === reason && v.labels.outcome === outcome)?.value;
    expect(count('success', 'unanswerable')).toBe(1);
    expect(count('checksum_mismatch', 'published')).toBe(1);
    expect(count('incomplete', 'published')).toBe(1);
  });
});
