import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers, connect as natsConnect } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { upload } from '@mqft/client';
import { transferKey } from '@mqft/protocol';
import { sharedNatsUrl, startMqftStack, waitFor, type MqftStack } from '@mqft/test-support';

// Pins the redis-loss soak failure (seed 4106, 4128): Redis lost everything just after a transfer
// completed, while its purge was deleting its messages; the replay of the stream read its init
// and segment but not its fin (deleted first), and left a 'receiving' record with a segment map
// that nothing ever settled. Here the race is set up by hand: the messages the replay finds are
// copies of the init and first segment of a transfer whose file is in storage.

let stack: MqftStack;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mqft-rebuild-'));
  stack = await startMqftStack({
    storage: `file://${dir}`,
    ingests: 1,
    assemblers: 1,
    ownRedis: true, // this test wipes it
  });
});
afterAll(async () => {
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

it('a complete transfer that a replay rebuilt in part ends complete, purged from the stream', async () => {
  const clientId = 'rebuild-dev';
  const device = await connectAsync(stack.mqttUrl, { clientId, protocolVersion: 5 });
  const key = transferKey({ clientId, fileId: 'f1' });
  const subject = `ft.${stack.stream}.cmd.${key}`;
  const nc = await natsConnect({ servers: sharedNatsUrl() });
  const db = new Redis(stack.redis?.url ?? '', { maxRetriesPerRequest: 2 });
  try {
    const data = randomBytes(100_000);
    const result = await upload(device, data, { fileId: 'f1', name: 'f1.bin' }).done;
    const jsm = await jetstreamManager(nc);
    const messagesLeft = async () => {
      const info = await jsm.streams.info(stack.stream, { subjects_filter: subject });
      return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
    };
    await waitFor(async () => (await messagesLeft()) === 0, { timeoutMs: 10_000, what: 'purge' });

    // What the racing purge left for the replay: the init as the device sent it, one segment.
    await stack.assemblers[0]?.kill();
    const manifest = JSON.parse(
      await readFile(join(dir, clientId, 'f1', 'f1.bin.MANIFEST.json'), 'utf8'),
    ) as { filemeta: unknown };
    const js = jetstream(nc);
    // As ingest stores commands (packages/stream/src/envelope.ts).
    const command = (kind: string, extra: Record<string, string>) => {
      const h = headers();
      h.set('Mqft-Kind', kind);
      h.set('Mqft-Key', key);
      for (const [name, value] of Object.entries(extra)) h.set(name, value);
      return h;
    };
    const reply = Buffer.from(JSON.stringify({ t: '$file/f1/init' })).toString('base64url');
    await js.publish(subject, JSON.stringify(manifest.filemeta), {
      headers: command('init', { 'Mqft-Reply': reply }),
    });
    await js.publish(subject, data.subarray(0, 65536), {
      headers: command('seg', { 'Mqft-Offset': '0' }),
    });
    await stack.redis?.kill();
    await stack.redis?.restart();
    await stack.assemblers[0]?.restart();

    const base = `${stack.redisPrefix}ft:{${key}}`;
    await waitFor(
      async () =>
        (await db.hget(`${base}:meta`, 'state')) === 'complete' &&
        (await db.exists(`${base}:segs`)) === 0 &&
        (await messagesLeft()) === 0,
      { timeoutMs: 20_000, what: 'the rebuilt transfer complete, its messages purged' },
    );
    expect(await db.hget(`${base}:meta`, 'location')).toBe(result.location);
    expect(await db.hget(`${base}:meta`, 'checksum')).toBe(result.checksum);
  } finally {
    db.disconnect();
    await nc.close();
    await device.endAsync(true);
  }
}, 60_000);
