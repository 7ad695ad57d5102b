import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transferKey, type ResultMessage } from '@mqft/protocol';
import {
  sharedNatsUrl,
  sharedRedisUrl,
  startMqftStack,
  waitFor,
  type MqftStack,
} from '@mqft/test-support';
import { TestDevice } from '../e2e/device.js';
import { Prober } from '../fuzz/prober.js';

// Issue 14, case 4: segment, fin and abort for fileIds that never had an init created Redis
// state, index entries and stream messages without bound, and 300 fin-only commands got no
// 0x97. Every transfer a client touches now counts against its quota; state without init
// lapses after MQFT_ORPHAN_TTL. Raw MQTT (no SDK), against the real stack.
const QUOTA = 4;
const ORPHAN_TTL_MS = 8_000;
const FINS = 300;
const ABORTS = 50;
const SEGMENTS = 100;
/** Keys a client may hold beyond one meta hash per admitted transfer: its quota set, its
 * created index, and a meta or two in the moment an expired slot is taken again. */
const KEY_SLACK = 4;

describe('quota bypass: commands without init count against the quota', () => {
  let dir: string;
  let stack: MqftStack;
  let redis: Redis;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mqft-quota-bypass-'));
    stack = await startMqftStack({
      storage: `file://${dir}`,
      env: {
        MQFT_MAX_ACTIVE_TRANSFERS: String(QUOTA),
        MQFT_ORPHAN_TTL: `${ORPHAN_TTL_MS}ms`,
        MQFT_FIN_GRACE: '2s',
      },
    });
    redis = new Redis(sharedRedisUrl());
    nc = await connect({ servers: sharedNatsUrl().split(',') });
    jsm = await jetstreamManager(nc);
  });

  afterAll(async () => {
    await Promise.allSettled(closers.map((close) => close()));
    await nc?.close();
    redis?.disconnect();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** The Redis keys that belong to one client (its transfers, its quota set, its index). */
  const clientKeys = async (clientPart: string): Promise<string[]> => {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(
        cursor,
        'MATCH',
        `${stack.redisPrefix}*`,
        'COUNT',
        1000,
      );
      cursor = next;
      found.push(
        ...keys.filter((k) => k.includes(`{${clientPart}.`) || k.includes(`{${clientPart}}`)),
      );
    } while (cursor !== '0');
    return found;
  };
  /** The client's messages in the stream. */
  const streamMessages = async (clientPart: string): Promise<number> => {
    const info = await jsm.streams.info(stack.stream, {
      subjects_filter: `ft.${stack.stream}.cmd.${clientPart}.*`,
    });
    return Object.values(info.state.subjects ?? {}).reduce((sum, n) => sum + n, 0);
  };

  /** Sends in batches (as a device with a window would), every command answered. */
  const sendAll = async (p: Prober, topics: string[], payload = ''): Promise<ResultMessage[]> => {
    const results: ResultMessage[] = [];
    for (let i = 0; i < topics.length; i += 50) {
      const batch = topics.slice(i, i + 50);
      results.push(...(await Promise.all(batch.map((t) => p.send(t, payload, 20_000)))));
    }
    return results;
  };

  it('answers 300 fin-only commands (0x97 past the quota), keeps Redis and the stream bounded, and a good upload completes', async () => {
    const p = await Prober.connect(stack.mqttUrl, `hostile-${randomBytes(3).toString('hex')}`);
    closers.push(() => p.close());
    const clientPart = transferKey({ clientId: p.clientId, fileId: 'x' }).split('.')[0] as string;

    const started = Date.now();
    const fins = await sendAll(
      p,
      Array.from({ length: FINS }, (_, i) => `$file/nofin${i}/fin/10`),
    );
    const elapsed = Date.now() - started;
    // Each admitted fin waits for its init through the grace, then hears what is missing; the
    // others are refused at once. A slot comes free only when its orphan lapses.
    const admittedAtMost = QUOTA * (1 + Math.ceil(elapsed / ORPHAN_TTL_MS));
    const refused = fins.filter((r) => r.reason_code === 0x97);
    expect(new Set(refused.map((r) => r.reason_description))).toEqual(new Set(['quota_exceeded']));
    const admitted = fins.filter((r) => r.reason_code !== 0x97);
    expect(admitted.length).toBeGreaterThan(0);
    expect(admitted.length).toBeLessThanOrEqual(admittedAtMost);
    for (const r of admitted) expect(r).toMatchObject({ reason_code: 0x80, missing: [[0, 10]] });

    // abort is a first command too: over the quota it is refused, and records nothing.
    const aborts = await sendAll(
      p,
      Array.from({ length: ABORTS }, (_, i) => `$file/noabort${i}/abort`),
    );
    const abortsRefused = aborts.filter((r) => r.reason_code === 0x97).length;
    expect(abortsRefused).toBeGreaterThanOrEqual(ABORTS - admittedAtMost);
    for (const r of aborts) expect([0, 0x97]).toContain(r.reason_code);

    // Segments without init: ingest acknowledges them (they are durable), the assembler drops
    // those over the quota, and deletes them from the stream.
    const segments = await sendAll(
      p,
      Array.from({ length: SEGMENTS }, (_, i) => `$file/noseg${i}/0`),
      'x'.repeat(100),
    );
    for (const r of segments) expect(r.reason_code).toBe(0);

    const keys = await clientKeys(clientPart);
    expect(keys.length, keys.join('\n')).toBeLessThanOrEqual(QUOTA + KEY_SLACK);
    const listed = (await redis.zrange(`${stack.redisPrefix}idx:created`, 0, -1)).filter((k) =>
      k.startsWith(`${clientPart}.`),
    );
    expect(listed.length).toBeLessThanOrEqual(admittedAtMost + ABORTS - abortsRefused);
    // Refused commands leave nothing in the stream either (only admitted transfers' messages).
    await waitFor(async () => (await streamMessages(clientPart)) <= QUOTA * 2, {
      timeoutMs: 15_000,
      what: "the refused commands' stream messages to be deleted",
    });

    // A well-behaved device is not held up.
    const good = await TestDevice.connect(stack.mqttUrl);
    closers.push(() => good.close());
    const goodStarted = Date.now();
    const result = await good.upload('good', randomBytes(300 * 1024), { segmentSize: 64 * 1024 });
    expect(result).toMatchObject({ reason_code: 0 });
    expect(Date.now() - goodStarted).toBeLessThan(10_000);

    // State without init lapses: nothing of the hostile client's transfers stays.
    await waitFor(async () => (await clientKeys(clientPart)).every((k) => !k.includes('ft:{')), {
      timeoutMs: ORPHAN_TTL_MS + 10_000,
      what: 'the orphan transfers to expire',
    });
    for (const service of [...stack.ingests, ...stack.assemblers])
      expect(service.running, 'no service restarted').toBe(true);
  });
});
