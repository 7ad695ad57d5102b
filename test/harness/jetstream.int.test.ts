import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import {
  jetstream,
  jetstreamManager,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { sharedNatsUrl, uniqueName } from '@mqft/test-support';

// What the services rely on, on the machine's shared nats-server (docs/design.md): a file
// stream with allow_direct, msgID dedup, direct get by sequence.
describe('JetStream on the shared NATS', () => {
  const stream = uniqueName('MQFT_T');
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let js: JetStreamClient;

  beforeAll(async () => {
    nc = await connect({ servers: sharedNatsUrl() });
    jsm = await jetstreamManager(nc);
    js = jetstream(nc);
    await jsm.streams.add({
      name: stream,
      subjects: [`${stream}.>`],
      storage: StorageType.File,
      allow_direct: true,
      // A stream a crashed run leaves behind empties itself.
      max_age: 3_600 * 1e9,
    });
  });

  afterAll(async () => {
    await jsm?.streams.delete(stream);
    await nc?.close();
  });

  it('dedups by msgID and serves a message back by sequence (direct get)', async () => {
    const subject = `${stream}.cmd.k1`;
    const data = new Uint8Array(64 * 1024).map((_, i) => (i * 31) % 256);
    const h = headers();
    h.set('mqft-kind', 'seg');
    h.set('mqft-offset', '65536');

    const first = await js.publish(subject, data, { msgID: 'k1:seg:65536', headers: h });
    expect(first.duplicate).toBe(false);
    const again = await js.publish(subject, data, { msgID: 'k1:seg:65536', headers: h });
    expect(again.duplicate).toBe(true);
    expect(again.seq).toBe(first.seq);
    expect((await jsm.streams.info(stream)).state.messages).toBe(1);

    const stored = await jsm.direct.getMessage(stream, { seq: first.seq });
    expect(stored).not.toBeNull();
    expect(stored?.subject).toBe(subject);
    expect(Buffer.from(stored?.data ?? []).equals(Buffer.from(data))).toBe(true);
    expect(stored?.header.get('mqft-kind')).toBe('seg');
    expect(stored?.header.get('mqft-offset')).toBe('65536');
  });
});
