import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DiscardPolicy,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { sharedNatsUrl, uniqueName } from '@mqft/test-support';
import { commandSubject, ensureCommandStream, isStreamFullError } from '../src/index.js';

const MiB = 1024 * 1024;

describe('the command stream’s byte limit on a real JetStream', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let js: JetStreamClient;
  const streams: string[] = [];
  const settings = (name: string, maxBytes: number) => ({
    name,
    replicas: 1,
    maxAgeMs: 600_000,
    maxBytes,
  });

  beforeAll(async () => {
    nc = await connect({ servers: sharedNatsUrl() });
    jsm = await jetstreamManager(nc);
    js = jetstream(nc);
  });
  afterAll(async () => {
    for (const name of streams) await jsm?.streams.delete(name).catch(() => undefined);
    await nc?.close();
  });

  it('a new stream discards new messages at its limit: the publish is refused, nothing stored is dropped', async () => {
    const name = uniqueName('LIMIT');
    streams.push(name);
    expect(await ensureCommandStream(jsm, settings(name, MiB))).toEqual({ maxBytes: MiB });
    const info = await jsm.streams.info(name);
    expect(info.config).toMatchObject({ max_bytes: MiB, discard: DiscardPolicy.New });
    const acked: number[] = [];
    let refusal: unknown;
    for (let i = 0; i < 40 && refusal === undefined; i++) {
      try {
        acked.push((await js.publish(commandSubject(name, 'k'), new Uint8Array(64 * 1024))).seq);
      } catch (err) {
        refusal = err;
      }
    }
    expect(isStreamFullError(refusal), String(refusal)).toBe(true);
    expect(String(refusal)).toMatch(/maximum bytes exceeded/);
    const after = await jsm.streams.info(name);
    expect(after.state.messages).toBe(acked.length);
    expect(after.state.first_seq).toBe(acked[0]);
    expect(isStreamFullError(new Error('maximum bytes exceeded'))).toBe(false);
  });

  it('an existing stream (discard old, no limit) gets discard new and the limit, and keeps every message', async () => {
    const name = uniqueName('LIMITUPD');
    streams.push(name);
    await jsm.streams.add({
      name,
      subjects: [`ft.${name}.cmd.>`],
      discard: DiscardPolicy.Old,
      max_age: 600_000 * 1_000_000,
    });
    for (let i = 0; i < 4; i++) await js.publish(commandSubject(name, 'k'), new Uint8Array(1000));
    // Asked for a limit below what the stream holds: nats-server 2.9 would delete the oldest
    // messages to meet it, so the limit set is what it holds plus a margin.
    const { maxBytes } = await ensureCommandStream(jsm, settings(name, MiB));
    const info = await jsm.streams.info(name);
    expect(info.config.discard).toBe(DiscardPolicy.New);
    expect(info.config.max_bytes).toBe(MiB);
    expect(maxBytes).toBe(MiB);
    expect(info.state.messages).toBe(4);

    // The same stream once it holds more than a wanted (smaller) limit.
    const big = await ensureCommandStream(jsm, settings(name, 1024));
    expect(big.maxBytes).toBeGreaterThan(info.state.bytes);
    expect((await jsm.streams.info(name)).state.messages).toBe(4);
  });

  it('a limit NATS cannot reserve stops the service with a message naming the variable', async () => {
    const name = uniqueName('LIMITHUGE');
    streams.push(name);
    await expect(ensureCommandStream(jsm, settings(name, 2 ** 60))).rejects.toThrow(
      /cannot reserve MQFT_STREAM_MAX_BYTES=/,
    );
  });
});
