import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCommandStream } from '@mqft/stream';
import { sharedNatsUrl, uniqueName } from '@mqft/test-support';
import { createIngestMetrics } from '../src/metrics.js';
import { createStreamPublisher, StreamFullError } from '../src/publisher.js';

describe('publishing to a full stream (real JetStream)', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const stream = uniqueName('FULL');

  beforeAll(async () => {
    nc = await connect({ servers: sharedNatsUrl() });
    jsm = await jetstreamManager(nc);
    await ensureCommandStream(jsm, {
      name: stream,
      replicas: 1,
      maxAgeMs: 600_000,
      maxBytes: 1024 * 1024,
    });
  });
  afterAll(async () => {
    await jsm?.streams.delete(stream).catch(() => undefined);
    await nc?.close();
  });

  it('fails with StreamFullError at once, without retrying through its budget', async () => {
    const registry = new Registry();
    const metrics = createIngestMetrics(registry, () => 0);
    const publisher = createStreamPublisher(jetstream(nc), {
      stream,
      retryBudgetMs: 10_000,
      metrics,
      logger: pino({ level: 'silent' }),
    });
    const message = (offset: number) => ({
      command: { kind: 'seg' as const, key: 'a.b', offset },
      body: new Uint8Array(64 * 1024),
    });
    let refusal: unknown;
    let offset = 0;
    for (; offset < 40 * 64 * 1024 && refusal === undefined; offset += 64 * 1024) {
      const started = Date.now();
      await publisher.publish(message(offset)).catch((err: unknown) => {
        refusal = err;
        expect(Date.now() - started).toBeLessThan(1_000);
      });
    }
    expect(refusal).toBeInstanceOf(StreamFullError);
    expect(String(refusal)).toMatch(/maximum bytes exceeded/);
    expect(await registry.metrics()).not.toMatch(/mqft_ingest_jetstream_publish_retries_total\{/);
    // Every message acked before is still there.
    const info = await jsm.streams.info(stream);
    expect(info.state.messages).toBe(offset / (64 * 1024) - 1);
    expect(info.state.first_seq).toBe(1);
  });
});
