import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { commandSubject, commandSubjects, ensureCommandStream } from '@mqft/stream';
import { sharedNatsUrl, startNats, uniqueName, waitFor } from '@mqft/test-support';
import { Purger } from '../src/purger.js';
import { LEFTOVER_CHECK_MS } from '../src/recent-purges.js';
import { TestAssembler, testBytes, type TestTransfer } from './context.js';

interface OwnNats {
  nats: Awaited<ReturnType<typeof startNats>>;
  nc: NatsConnection;
  jsm: JetStreamManager;
  stream: string;
}

/** Runs `use` against a nats-server of its own (to kill and restart) with a command stream. */
async function withOwnNats(use: (own: OwnNats) => Promise<void>): Promise<void> {
  const nats = await startNats();
  const nc = await connect({ servers: nats.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 1_000 });
    const stream = uniqueName('MQFT_PG');
    await ensureCommandStream(jsm, {
      name: stream,
      replicas: 1,
      maxAgeMs: 10 * 60_000,
      maxBytes: 1024 * 1024,
    });
    await use({ nats, nc, jsm, stream });
  } finally {
    await nc.close();
    await nats.stop();
  }
}

// The Purger on a real stream: what it deletes, what it remembers, and that two assemblers'
// purgers share nothing.
describe('Purger', () => {
  let t: TestAssembler;

  beforeAll(async () => {
    t = await TestAssembler.create();
  });
  afterAll(async () => {
    await t?.close();
  });

  /** A transfer with `n` segments in the stream; their sequences. */
  const published = async (transfer: TestTransfer, n: number) => {
    await transfer.init();
    const seqs: number[] = [];
    for (let i = 0; i < n; i++) seqs.push((await transfer.seg(i * 4, testBytes(4, i))).stored.seq);
    await transfer.fin(n * 4);
    return seqs;
  };
  const purger = () =>
    new Purger({ jsm: t.ctx.jsm, stream: t.config.stream, logger: t.ctx.logger });

  it('purgeCompleted deletes every message of the transfer and no other', async () => {
    const [a, b] = [t.transfer(), t.transfer()];
    const seqs = await published(a, 3);
    await published(b, 2);
    await purger().purgeCompleted(a.key, seqs.slice(1));
    expect(await t.storedMessages(a.key)).toBe(0);
    expect(await t.storedMessages(b.key)).toBe(4);
  });

  it('purgeInBackground runs `after` once the purge is done; settled() waits for both', async () => {
    const transfer = t.transfer();
    const seqs = await published(transfer, 2);
    const p = purger();
    const order: string[] = [];
    p.purgeInBackground(transfer.key, seqs, async () => {
      order.push(`after, ${await t.storedMessages(transfer.key)} left`);
    });
    await p.settled();
    expect(order).toEqual(['after, 0 left']);
  });

  it('a failing `after` is logged, not thrown', async () => {
    const transfer = t.transfer();
    const p = purger();
    p.purgeInBackground(transfer.key, [], () => Promise.reject(new Error('redis down')));
    await p.settled();
    expect(t.logged('purge after completion failed').map((l) => l.key)).toEqual([transfer.key]);
  });

  it('a purge NATS does not take is retried, then given up with a warning', async () => {
    const key = t.transfer().key;
    const nc = await connect({ servers: sharedNatsUrl() });
    const jsm = await jetstreamManager(nc);
    await nc.close();
    const p = new Purger({
      jsm,
      stream: t.config.stream,
      logger: t.ctx.logger,
      attempts: 3,
      retryMs: 10,
    });
    await p.purgeCompleted(key);
    const gaveUp = 'segments of a complete transfer not purged; checking again later';
    expect(t.logged(gaveUp).map((l) => l.key)).toEqual([key]);
  });

  it('a purge given up is done by the leftover check once NATS is back', () =>
    withOwnNats(async ({ nats, nc, jsm, stream }) => {
      const p = new Purger({ jsm, stream, logger: t.ctx.logger, attempts: 2, retryMs: 10 });
      const key = 'Z2F2ZQ.dXA';
      const subject = commandSubject(stream, key);
      const js = jetstream(nc);
      for (const kind of ['init', 'seg', 'fin']) await js.publish(subject, kind);
      await nats.kill(); // a stream leader election longer than the purge's attempts
      await p.purgeCompleted(key);
      const gaveUpAt = Date.now();
      await nats.restart();
      const stored = async () =>
        (await jsm.streams.info(stream, { subjects_filter: commandSubjects(stream) })).state
          .subjects?.[subject] ?? 0;
      await waitFor(async () => (await stored()) === 3, { what: 'NATS back' });
      await p.checkLeftovers(gaveUpAt + LEFTOVER_CHECK_MS);
      expect(await stored()).toBe(0);
    }));

  it('after a reconnect, purges again what it purged lately (messages nats-server brought back)', async () => {
    const transfer = t.transfer();
    const p = purger();
    await p.purgeCompleted(transfer.key, await published(transfer, 2));
    await transfer.seg(0, testBytes(4)); // as if the delete had been lost
    expect(await t.storedMessages(transfer.key)).toBe(1);
    p.repurgeRecent();
    await p.settled();
    expect(await t.storedMessages(transfer.key)).toBe(0);
  });

  it('checks each purged transfer once for leftovers, LEFTOVER_CHECK_MS after its purge', async () => {
    const [kept, other] = [t.transfer(), t.transfer()];
    const p = purger();
    const purgedAt = Date.now();
    await p.purgeCompleted(kept.key, await published(kept, 2));
    await published(other, 1); // never purged: not its business
    await kept.seg(4, testBytes(4)); // kept by nats-server although deleted

    await p.checkLeftovers(purgedAt + LEFTOVER_CHECK_MS - 1_000);
    expect(await t.storedMessages(kept.key)).toBe(1);

    await p.checkLeftovers(Date.now() + LEFTOVER_CHECK_MS);
    expect(await t.storedMessages(kept.key)).toBe(0);
    expect(await t.storedMessages(other.key)).toBe(3);
    const warned = t.logged('purged messages were still in the stream; deleted again');
    expect(warned.filter((l) => l.key === kept.key).map((l) => l.deleted)).toEqual([1]);

    // Checked once: a message arriving later is not this check's to delete.
    await kept.seg(8, testBytes(4));
    await p.checkLeftovers(Date.now() + 2 * LEFTOVER_CHECK_MS);
    expect(await t.storedMessages(kept.key)).toBe(1);
  });

  it('a leftover check NATS does not answer is done again at the next check', () =>
    // Its own nats-server, to kill -9 between the purge and the check (a stream leader lost
    // while the check runs, as in test/cluster's stream-leader failover).
    withOwnNats(async ({ nats, nc, jsm, stream }) => {
      type Line = { msg: string; givenUp?: number };
      const lines: Line[] = [];
      const logger = pino(
        { level: 'debug' },
        { write: (l: string) => void lines.push(JSON.parse(l) as Line) },
      );
      const p = new Purger({ jsm, stream, logger });
      const key = 'a2VwdA.ZmlsZQ';
      const subject = commandSubject(stream, key);
      const stored = async () =>
        (await jsm.streams.info(stream, { subjects_filter: commandSubjects(stream) })).state
          .subjects?.[subject] ?? 0;
      const js = jetstream(nc);
      await js.publish(subject, 'seg');
      await p.purgeCompleted(key);
      const purgedAt = Date.now();
      await js.publish(subject, 'fin'); // kept by nats-server although deleted
      expect(await stored()).toBe(1);

      await nats.kill();
      await p.checkLeftovers(purgedAt + LEFTOVER_CHECK_MS);
      expect(
        lines.filter((l) => l.msg.startsWith('could not check the stream for leftovers')),
      ).toEqual([expect.objectContaining({ givenUp: 0 })]);

      await nats.restart();
      await waitFor(async () => (await stored()) >= 1, { what: 'NATS back with the leftover' });
      await p.checkLeftovers(purgedAt + LEFTOVER_CHECK_MS + 1);
      expect(await stored()).toBe(0);
    }));

  it('two purgers (two assemblers in one process) share no recent purges', async () => {
    const transfer = t.transfer();
    const [mine, another] = [purger(), purger()];
    await mine.purgeCompleted(transfer.key, await published(transfer, 1));
    await transfer.seg(0, testBytes(4));
    another.repurgeRecent();
    await another.checkLeftovers(Date.now() + LEFTOVER_CHECK_MS);
    await another.settled();
    expect(await t.storedMessages(transfer.key)).toBe(1);
    mine.repurgeRecent();
    await mine.settled();
    expect(await t.storedMessages(transfer.key)).toBe(0);
  });

  it('does not purge again after stop() (the assembler is shutting down)', async () => {
    const transfer = t.transfer();
    const p = purger();
    await p.purgeCompleted(transfer.key, await published(transfer, 1));
    await p.stop();
    await transfer.seg(0, testBytes(4));
    p.repurgeRecent();
    await p.settled();
    expect(await t.storedMessages(transfer.key)).toBe(1);
  });

  it('startLeftoverChecks() runs the check by itself, once the purge is LEFTOVER_CHECK_MS old', async () => {
    const transfer = t.transfer();
    const p = purger();
    p.startLeftoverChecks(100);
    try {
      await p.purgeCompleted(transfer.key, await published(transfer, 1));
      await transfer.seg(0, testBytes(4));
      await waitFor(async () => (await t.storedMessages(transfer.key)) === 0, {
        timeoutMs: LEFTOVER_CHECK_MS + 5_000,
        what: 'the leftover deleted',
      });
    } finally {
      await p.stop();
    }
  });
});
