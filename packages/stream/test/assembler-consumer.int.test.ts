import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AckPolicy,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { sharedNatsUrl, uniqueName } from '@mqft/test-support';
import {
  carriesBody,
  commandSubject,
  commandSubjects,
  decodeCommandHeaders,
  encodeCommandHeaders,
  ensureAssemblerConsumer,
  ensureCommandStream,
  storedBodySize,
} from '../src/index.js';

const OPTIONS = { ackWaitMs: 30_000, maxAckPending: 1000 };

describe('the assemblers’ command consumer on a real JetStream', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let js: JetStreamClient;
  const streams: string[] = [];

  beforeAll(async () => {
    nc = await connect({ servers: sharedNatsUrl() });
    jsm = await jetstreamManager(nc);
    js = jetstream(nc);
  });
  afterAll(async () => {
    for (const name of streams) await jsm?.streams.delete(name).catch(() => undefined);
    await nc?.close();
  });

  async function commandStream(): Promise<string> {
    const name = uniqueName('CONSUMER');
    streams.push(name);
    await ensureCommandStream(jsm, { name, replicas: 1, maxAgeMs: 600_000, maxBytes: 1 << 24 });
    return name;
  }

  it('delivers headers only: a segment’s length from Nats-Msg-Size, init’s filemeta from its header', async () => {
    const name = await commandStream();
    const filemeta = new TextEncoder().encode(JSON.stringify({ name: 'ä.bin', size: 3000 }));
    await js.publish(commandSubject(name, 'k'), filemeta, {
      headers: encodeCommandHeaders({ kind: 'init', key: 'k', filemeta }),
    });
    await js.publish(commandSubject(name, 'k'), new Uint8Array(3000), {
      headers: encodeCommandHeaders({ kind: 'seg', key: 'k', offset: 0 }),
    });
    await ensureAssemblerConsumer(jsm, name, { durable: 'asm', ...OPTIONS });

    const consumer = await js.consumers.get(name, 'asm');
    const init = await consumer.next({ expires: 5000 });
    const seg = await consumer.next({ expires: 5000 });
    expect(init?.data.length).toBe(0);
    expect(carriesBody(init?.headers)).toBe(false);
    const carried = decodeCommandHeaders(init?.headers).filemeta ?? new Uint8Array();
    expect(new TextDecoder().decode(carried)).toBe(new TextDecoder().decode(filemeta));
    expect(seg?.data.length).toBe(0);
    expect(storedBodySize(seg?.headers, seg?.data ?? new Uint8Array())).toBe(3000);
    // A full delivery (any other consumer) carries its body, and its length is the body's.
    const full = await jsm.streams.getMessage(name, { seq: seg?.seq ?? 0 });
    expect(carriesBody(full?.header)).toBe(true);
  });

  it('replaces an earlier version’s durable: what it left unacknowledged is delivered by the new one', async () => {
    const name = await commandStream();
    // The previous version's durable, full payloads, one message taken and never acked.
    await jsm.consumers.add(name, {
      durable_name: 'old',
      ack_policy: AckPolicy.Explicit,
      filter_subject: commandSubjects(name),
    });
    for (let i = 0; i < 3; i++) {
      await js.publish(commandSubject(name, 'k'), new Uint8Array(100 + i), {
        headers: encodeCommandHeaders({ kind: 'seg', key: 'k', offset: 100 * i }),
      });
    }
    const old = await js.consumers.get(name, 'old');
    const taken = await old.next({ expires: 5000 });
    expect(taken?.data.length).toBe(100);

    await ensureAssemblerConsumer(jsm, name, { durable: 'new', retired: ['old'], ...OPTIONS });
    // Twice, as N replicas starting at once would: the retired one is already gone.
    await ensureAssemblerConsumer(jsm, name, { durable: 'new', retired: ['old'], ...OPTIONS });

    const durables = [];
    for await (const info of jsm.consumers.list(name)) durables.push(info.name);
    expect(durables).toEqual(['new']);
    const fresh = await js.consumers.get(name, 'new');
    const sizes = [];
    for (let i = 0; i < 3; i++) {
      const msg = await fresh.next({ expires: 5000 });
      sizes.push(storedBodySize(msg?.headers, msg?.data ?? new Uint8Array()));
      msg?.ack();
    }
    expect(sizes).toEqual([100, 101, 102]);
  });
});
