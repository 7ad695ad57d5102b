import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { sharedNatsUrl, uniqueName } from '@mqft/test-support';
import { purgeLeftovers, purgeSubject } from '../src/index.js';

describe('deleting a transfer’s messages on a real JetStream', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let js: JetStreamClient;
  const stream = uniqueName('PURGE');
  const subject = (key: string) => `ft.${stream}.cmd.${key}`;
  const publish = async (key: string, n: number) => {
    const seqs: number[] = [];
    for (let i = 0; i < n; i++) seqs.push((await js.publish(subject(key), `${key}-${i}`)).seq);
    return seqs;
  };
  const count = async (key: string) => {
    const info = await jsm.streams.info(stream, { subjects_filter: `ft.${stream}.cmd.>` });
    return info.state.subjects?.[subject(key)] ?? 0;
  };

  beforeAll(async () => {
    nc = await connect({ servers: sharedNatsUrl() });
    jsm = await jetstreamManager(nc);
    js = jetstream(nc);
    await jsm.streams.add({ name: stream, subjects: [`ft.${stream}.cmd.>`], allow_direct: true });
  });
  afterAll(async () => {
    await jsm?.streams.delete(stream).catch(() => undefined);
    await nc?.close();
  });

  it('purgeSubject deletes the known sequences and walks the subject for the rest, only below the bound', async () => {
    const a = await publish('c1.a', 3);
    const b = await publish('c1.b', 2); // a neighbour, untouched
    const later = await publish('c1.a', 2);
    const bound = later[0] as number;
    expect(await purgeSubject(jsm, stream, subject('c1.a'), bound, a.slice(1))).toBe(3);
    expect(await count('c1.a')).toBe(2);
    expect(await purgeSubject(jsm, stream, subject('c1.a'))).toBe(2);
    expect(await count('c1.a')).toBe(0);
    expect(await count('c1.b')).toBe(b.length);
  });

  it('purgeSubject asks the stream leader to confirm the end of its walk, unless told the stream has one replica', async () => {
    const leaderGets = () => {
      let calls = 0;
      const original = jsm.streams.getMessage.bind(jsm.streams);
      jsm.streams.getMessage = (...args) => {
        calls++;
        return original(...args);
      };
      return { calls: () => calls, restore: () => (jsm.streams.getMessage = original) };
    };
    await publish('c3.a', 2);
    let watch = leaderGets();
    try {
      expect(await purgeSubject(jsm, stream, subject('c3.a'))).toBe(2);
      expect(watch.calls()).toBe(1);
    } finally {
      watch.restore();
    }
    await publish('c3.b', 2);
    watch = leaderGets();
    try {
      expect(await purgeSubject(jsm, stream, subject('c3.b'), undefined, [], false)).toBe(2);
      expect(watch.calls()).toBe(0);
    } finally {
      watch.restore();
    }
    expect(await count('c3.a')).toBe(0);
    expect(await count('c3.b')).toBe(0);
  });

  it('purgeLeftovers deletes what is still stored on the given subjects, and only there', async () => {
    await publish('c2.x', 2);
    await publish('c2.y', 1);
    await publish('c2.z', 1); // not asked about
    const deleted = await purgeLeftovers(jsm, stream, `ft.${stream}.cmd.>`, [
      subject('c2.x'),
      subject('c2.y'),
      subject('c2.none'),
    ]);
    expect(Object.fromEntries(deleted)).toEqual({ [subject('c2.x')]: 2, [subject('c2.y')]: 1 });
    expect([await count('c2.x'), await count('c2.y'), await count('c2.z')]).toEqual([0, 0, 1]);
    expect((await purgeLeftovers(jsm, stream, `ft.${stream}.cmd.>`, [subject('c2.x')])).size).toBe(
      0,
    );
  });
});
