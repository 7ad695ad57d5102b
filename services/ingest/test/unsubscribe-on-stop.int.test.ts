import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  sharedNatsUrl,
  sleep,
  startMosquitto,
  uniqueName,
  waitFor,
  type ServerHandle,
} from '@mqft/test-support';
import { startIngest } from '../src/ingest.js';
import { ingestClientId } from '../src/subscriber.js';
import { Device, StreamReader, testConfig } from './helpers.js';

// A stopped ingest keeps its persistent sessions, and by default their membership of the
// shared subscription: Mosquitto goes on queueing a share of new commands for them, which a
// restart under the same clientIds picks up. MQFT_INGEST_UNSUBSCRIBE_ON_STOP=true (scale-down)
// leaves the subscription on stop, so nothing more is queued for a session nobody resumes.

const silent = pino({ level: 'silent' });
/** Long enough for a queued QoS 1 message to reach a resumed session on loopback. */
const QUIET_MS = 1_500;

describe('MQFT_INGEST_UNSUBSCRIBE_ON_STOP', () => {
  let broker: ServerHandle;
  let device: Device;
  let probe: MqttClient;
  const probed: string[] = [];
  const streams: string[] = [];
  const sessions: MqttClient[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    device = await Device.connect(broker.url, 'dev-u');
    // Sees every command once the broker has routed it (and queued it for offline sessions).
    probe = await mqtt.connectAsync(broker.url, { clientId: uniqueName('probe') });
    probe.on('message', (topic) => probed.push(topic));
    await probe.subscribeAsync('mqft/in/$file/#', { qos: 1 });
  });

  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.endAsync()));
    await device?.close();
    await probe?.endAsync();
    for (const stream of streams) await (await StreamReader.open(sharedNatsUrl(), stream)).close();
    await broker?.stop();
  });

  /**
   * Starts and stops an ingest (one connection, its own share group), publishes a command
   * while it is away, then resumes its session: what the broker delivers there unasked is
   * what it queued for that session.
   */
  async function queuedAfterStop(unsubscribeOnStop: boolean) {
    const group = uniqueName('grp');
    const config = testConfig(broker.url, sharedNatsUrl(), {
      MQFT_MQTT_SUBSCRIPTION: `$share/${group}/mqft/in/$file/#`,
      MQFT_INGEST_CONNECTIONS: '1',
      MQFT_INGEST_UNSUBSCRIBE_ON_STOP: String(unsubscribeOnStop),
    });
    expect(config.ingestUnsubscribeOnStop).toBe(unsubscribeOnStop);
    streams.push(config.stream);
    const ingest = await startIngest(config, { logger: silent });
    await ingest.stop();

    const topic = `$file/${group}/init`;
    await device.send(topic, '{}');
    await waitFor(() => probed.includes(`mqft/in/${topic}`), { what: 'the command routed' });

    const delivered: string[] = [];
    const session = mqtt.connect(broker.url, {
      clientId: ingestClientId(config.mqttClientId, 0),
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      reconnectPeriod: 0,
    });
    sessions.push(session);
    session.on('message', (t) => delivered.push(t));
    const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
      session.once('connect', resolve);
      session.once('error', reject);
    });
    return { sessionPresent: connack.sessionPresent, delivered, topic: `mqft/in/${topic}` };
  }

  it('is off by default: the stopped session stays a member and the broker queues for it', async () => {
    expect(testConfig('mqtt://127.0.0.1:1', sharedNatsUrl()).ingestUnsubscribeOnStop).toBe(false);
    const { sessionPresent, delivered, topic } = await queuedAfterStop(false);
    expect(sessionPresent).toBe(true);
    await waitFor(() => delivered.includes(topic), { what: 'the queued command' });
  });

  it('on: the session is kept but has left the shared subscription, nothing is queued', async () => {
    const { sessionPresent, delivered } = await queuedAfterStop(true);
    expect(sessionPresent).toBe(true);
    await expectNothingFor(QUIET_MS, () => delivered);
  });
});

/** A bounded quiet window: fails as soon as `seen()` is not empty, passes after `ms`. */
async function expectNothingFor(ms: number, seen: () => readonly string[]): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    expect(seen()).toEqual([]);
    await sleep(50);
  }
  expect(seen()).toEqual([]);
}
