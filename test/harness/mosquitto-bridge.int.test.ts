import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectQuiet, startMosquitto, uniqueName, type ServerHandle } from '@mqft/test-support';
import { connectRecording, type RecordingClient } from './mqtt-clients.js';

// The loopback bridge of deploy/mosquitto (docs/protocol.md "Brokers, and the Mosquitto
// bridge"): device commands on `$file/...` reach ingest's shared subscription as
// `mqft/in/$file/...`, properties intact.
describe('Mosquitto with the project config', () => {
  let broker: ServerHandle;
  const clients: RecordingClient[] = [];
  const connect = async (name: string): Promise<RecordingClient> => {
    const client = await connectRecording(broker.url, uniqueName(name));
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    broker = await startMosquitto();
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await broker?.stop();
  });

  it('bridges $file/... to mqft/in/$file/... with MQTT 5 properties intact', async () => {
    const ingest = await connect('ingest');
    await ingest.client.subscribeAsync('$share/ft/mqft/in/$file/#', { qos: 1 });
    const device = await connect('dev1');
    const payload = Buffer.from(JSON.stringify({ name: 'report.bin', size: 3 }));
    const correlationData = Buffer.from([0xca, 0xfe, 0x00, 0x01]);
    await device.client.publishAsync('$file/x/init', payload, {
      qos: 1,
      properties: {
        userProperties: { clientid: 'dev1' },
        responseTopic: '$file-response/dev1',
        correlationData,
      },
    });

    const got = await ingest.next('mqft/in/$file/x/init');
    expect(got.payload.equals(payload)).toBe(true);
    expect(got.packet.qos).toBe(1);
    expect(got.packet.properties?.userProperties).toEqual({ clientid: 'dev1' });
    expect(got.packet.properties?.responseTopic).toBe('$file-response/dev1');
    expect(Buffer.from(got.packet.properties?.correlationData ?? []).equals(correlationData)).toBe(
      true,
    );
  });

  it('bridges $file-async/... to mqft/in/$file-async/...', async () => {
    const ingest = await connect('ingest-async');
    await ingest.client.subscribeAsync('$share/ft/mqft/in/$file-async/#', { qos: 1 });
    const device = await connect('dev2');
    const segment = Buffer.from([0, 1, 2, 3, 254, 255]);
    await device.client.publishAsync('$file-async/f2/0', segment, {
      qos: 1,
      properties: { userProperties: { clientid: 'dev2' } },
    });
    const got = await ingest.next('mqft/in/$file-async/f2/0');
    expect(got.payload.equals(segment)).toBe(true);
    expect(got.packet.properties?.userProperties).toEqual({ clientid: 'dev2' });
  });

  it('never delivers $file/... to a shared subscription (why the bridge exists)', async () => {
    const shared = await connect('shared-direct');
    await shared.client.subscribeAsync('$share/ft/$file/#', { qos: 1 });
    const plain = await connect('plain-direct');
    await plain.client.subscribeAsync('$file/#', { qos: 1 });
    const bridged = await connect('bridged');
    // Its own group: the `ft` group of the first test would take turns with it.
    await bridged.client.subscribeAsync('$share/control/mqft/in/$file/#', { qos: 1 });

    const device = await connect('dev3');
    await device.client.publishAsync('$file/f3/init', Buffer.from('{"name":"a"}'), { qos: 1 });

    // The plain subscription and the bridged shared one get it; give the direct shared one
    // every chance too.
    await plain.next('$file/f3/init');
    await bridged.next('mqft/in/$file/f3/init');
    await expectQuiet(300, () => expect(shared.received).toEqual([]));
  });
});
