import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  jetstream,
  jetstreamManager,
  type Consumer,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { sharedNatsUrl, uniqueName } from '@mqft/test-support';
import {
  commandSubject,
  decodeCommandHeaders,
  encodeCommandHeaders,
  ensureAssemblerConsumer,
  ensureCommandStream,
  type StreamCommand,
} from '@mqft/stream';
import { BodyGoneError, storedCommandOf } from '../src/stored-command.js';

// What the recorders get from the headers-only consumer, for messages of this version's ingest
// and of an earlier one (an init without Mqft-Filemeta).
describe('stored commands from the headers-only consumer', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let js: JetStreamClient;
  let stream: string;
  let consumer: Consumer;
  const filemeta = new TextEncoder().encode('{"name":"a.bin"}');
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

  beforeAll(async () => {
    nc = await connect({ servers: sharedNatsUrl() });
    jsm = await jetstreamManager(nc);
    js = jetstream(nc);
    stream = uniqueName('STORED');
    await ensureCommandStream(jsm, {
      name: stream,
      replicas: 1,
      maxAgeMs: 600_000,
      maxBytes: 1 << 24,
    });
    await ensureAssemblerConsumer(jsm, stream, {
      durable: 'asm',
      ackWaitMs: 30_000,
      maxAckPending: 100,
    });
    consumer = await js.consumers.get(stream, 'asm');
  });
  afterAll(async () => {
    await jsm?.streams.delete(stream).catch(() => undefined);
    await nc?.close();
  });

  async function deliver(command: StreamCommand, body: Uint8Array) {
    await js.publish(commandSubject(stream, command.key), body, {
      headers: encodeCommandHeaders(command),
    });
    const msg = await consumer.next({ expires: 5000 });
    if (!msg) throw new Error('nothing delivered');
    msg.ack();
    const decoded = decodeCommandHeaders(msg.headers);
    return { stored: storedCommandOf(msg, decoded, jsm, stream), seq: msg.seq };
  }

  it('a segment: its stored length, without its bytes', async () => {
    const { stored } = await deliver({ kind: 'seg', key: 'k1', offset: 0 }, new Uint8Array(777));
    expect(stored.size).toBe(777);
  });

  it('an init of this version: the filemeta from its header, even once the message is gone', async () => {
    const { stored, seq } = await deliver({ kind: 'init', key: 'k2', filemeta }, filemeta);
    await jsm.streams.deleteMessage(stream, seq);
    expect(text(await stored.body())).toBe(text(filemeta));
  });

  it('an init of an earlier ingest (no filemeta header): read by direct get; gone, BodyGoneError', async () => {
    const { stored, seq } = await deliver({ kind: 'init', key: 'k3' }, filemeta);
    expect(stored.size).toBe(filemeta.length);
    expect(text(await stored.body())).toBe(text(filemeta));
    await jsm.streams.deleteMessage(stream, seq);
    await expect(stored.body()).rejects.toBeInstanceOf(BodyGoneError);
  });
});
