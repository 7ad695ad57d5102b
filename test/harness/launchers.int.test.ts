import { afterEach, describe, expect, it } from 'vitest';
import { connect as connectMqtt, connectAsync } from 'mqtt';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { Redis } from 'ioredis';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  exchange,
  startMosquitto,
  startNats,
  startRedis,
  startS3rver,
  waitFor,
  type ServerHandle,
} from '@mqft/test-support';

// Each launcher: a real server on its own free port, that survives kill() + restart() on the
// same port.
describe('launchers', () => {
  const started: ServerHandle[] = [];
  const track = <T extends ServerHandle>(handle: T): T => {
    started.push(handle);
    return handle;
  };

  afterEach(async () => {
    await Promise.all(started.splice(0).map((h) => h.stop()));
  });

  const answers = {
    mqtt: async (url: string): Promise<void> => {
      const client = await connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
      await client.publishAsync('mqft/launcher', 'ok', { qos: 1 });
      await client.endAsync();
    },
    nats: async (url: string): Promise<void> => {
      const nc = await connect({ servers: url, reconnect: false });
      await nc.flush();
      await nc.close();
    },
    redis: async (url: string): Promise<void> => {
      const redis = new Redis(url, { maxRetriesPerRequest: 1 });
      expect(await redis.ping()).toBe('PONG');
      await redis.quit();
    },
  };

  const cases = [
    { name: 'mosquitto', start: () => startMosquitto(), scheme: 'mqtt', check: answers.mqtt },
    {
      name: 'mosquitto without bridge',
      start: () => startMosquitto({ bridge: false }),
      scheme: 'mqtt',
      check: answers.mqtt,
    },
    { name: 'nats', start: () => startNats(), scheme: 'nats', check: answers.nats },
    { name: 'redis', start: () => startRedis(), scheme: 'redis', check: answers.redis },
  ];

  for (const { name, start, scheme, check } of cases) {
    it(`${name}: starts on a free port, kill() then restart() on the same port`, async () => {
      const server = track(await start());
      expect(server.url).toBe(`${scheme}://127.0.0.1:${server.port}`);
      expect(server.port).not.toBe(defaultPort(scheme));
      await check(server.url);

      await server.kill();
      expect(server.running).toBe(false);
      await expect(exchange(server.host, server.port, '', () => true, 500)).rejects.toThrow();

      const port = server.port;
      await server.restart();
      expect(server.port).toBe(port);
      expect(server.running).toBe(true);
      await check(server.url);
    });
  }

  it('a server that cannot start fails fast, with the tail of its log', async () => {
    const started = Date.now();
    const failure = startMosquitto({ extraConfig: 'no_such_option 1' });
    await expect(failure).rejects.toThrow(/mosquitto exited \(code \d+.*no_such_option/s);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('two servers of a kind get different ports and dirs', async () => {
    const [a, b] = await Promise.all([startRedis(), startRedis()]).then((all) => all.map(track));
    expect(a?.port).not.toBe(b?.port);
    expect(a?.dir).not.toBe(b?.dir);
  });

  it('s3rver keeps its objects across kill() and restart()', async () => {
    const server = track(await startS3rver({ buckets: ['keep'] }));
    const s3 = new S3Client(server.clientConfig());
    try {
      await s3.send(new PutObjectCommand({ Bucket: 'keep', Key: 'a/b.txt', Body: 'kept' }));
      await server.kill();
      await server.restart();
      const object = await s3.send(new GetObjectCommand({ Bucket: 'keep', Key: 'a/b.txt' }));
      expect(await object.Body?.transformToString()).toBe('kept');
    } finally {
      s3.destroy();
    }
  });

  it('nats keeps JetStream streams and messages across kill() and restart()', async () => {
    const server = track(await startNats());
    const publish = async (): Promise<number> => {
      const nc = await connect({ servers: server.url, reconnect: false });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'KEEP', subjects: ['keep.>'], storage: StorageType.File });
      const ack = await jetstream(nc).publish('keep.a', 'kept');
      await nc.close();
      return ack.seq;
    };
    const seq = await publish();
    await server.kill();
    await server.restart();
    const nc = await connect({ servers: server.url, reconnect: false });
    try {
      const jsm = await jetstreamManager(nc);
      const stored = await jsm.streams.getMessage('KEEP', { seq });
      expect(stored?.string()).toBe('kept');
    } finally {
      await nc.close();
    }
  });

  it('mosquitto with persistence keeps a persistent session queue across restart()', async () => {
    const server = track(await startMosquitto({ persistence: true }));
    const session = { protocolVersion: 5 as const, clientId: 'mqft-ingest-0', clean: false };
    const properties = { sessionExpiryInterval: 3_600 };
    const ingest = await connectAsync(server.url, { ...session, properties, reconnectPeriod: 0 });
    await ingest.subscribeAsync('$share/ft/mqft/in/$file/#', { qos: 1 });
    await ingest.endAsync();

    const device = await connectAsync(server.url, { protocolVersion: 5, reconnectPeriod: 0 });
    await device.publishAsync('$file/f1/init', '{"name":"a"}', { qos: 1 });
    await device.endAsync();
    // Graceful: Mosquitto writes its database on SIGTERM (a SIGKILL loses what the last
    // autosave did not catch).
    await server.restart();

    const received: string[] = [];
    // Listening before the connection opens: the queued message comes right after CONNACK.
    const again = connectMqtt(server.url, { ...session, properties, reconnectPeriod: 0 });
    again.on('message', (topic) => received.push(topic));
    await waitFor(() => received.length > 0, { what: 'the queued command after restart' });
    expect(received).toEqual(['mqft/in/$file/f1/init']);
    await again.endAsync();
  });
});

function defaultPort(scheme: string): number {
  return { mqtt: 1883, nats: 4222, redis: 6379 }[scheme] ?? 0;
}
