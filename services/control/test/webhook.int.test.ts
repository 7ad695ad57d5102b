import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, type Logger } from '@mqft/config';
import {
  deadLetterSubjects,
  ensureOutcomeStream,
  outcomeId,
  publishOutcome,
  type TransferOutcome,
} from '@mqft/stream';
import { sharedNatsUrl, uniqueName, waitFor } from '@mqft/test-support';
import {
  AckPolicy,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebhookDelivery, type WebhookSettings } from '../src/webhooks/delivery.js';
import { createWebhookMetrics, type WebhookMetrics } from '../src/webhooks/metrics.js';
import { verifyWebhook } from '../src/webhooks/signature.js';

const SECRET = 'webhook-test';

interface Hit {
  id: string;
  attempt: number;
  signed: boolean;
}

/** Webhook delivery workers on real NATS (a stream of their own), against a local endpoint. */
describe('WebhookDelivery', () => {
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let server: Server;
  let url: string;
  let status = 200;
  let hits: Hit[] = [];
  let stream: string;
  let outcomeStream: string;
  const workers: WebhookDelivery[] = [];

  beforeAll(async () => {
    nc = await connect({ servers: sharedNatsUrl() });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const header = (name: string) => req.headers[name] as string | undefined;
        hits.push({
          id: header('x-mqft-event-id') ?? '',
          attempt: Number(header('x-mqft-attempt')),
          signed: verifyWebhook(SECRET, {
            timestamp: header('x-mqft-timestamp'),
            signature: header('x-mqft-signature'),
            body: Buffer.concat(chunks),
          }),
        });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    await nc?.close();
    await new Promise((resolve) => server?.close(resolve));
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    await jsm.streams.delete(outcomeStream).catch(() => false);
    hits = [];
    status = 200;
  });

  async function setUp(): Promise<void> {
    stream = uniqueName('HOOK');
    outcomeStream = `${stream}_OUTCOMES`;
    await ensureOutcomeStream(jsm, {
      name: outcomeStream,
      stream,
      replicas: 1,
      maxAgeMs: 600_000,
      maxBytes: 2 ** 24,
    });
  }

  async function startWorker(
    settings: Partial<WebhookSettings>,
    logger: Logger = createLogger('webhook-test', 'silent'),
  ): Promise<{ metrics: WebhookMetrics; registry: Registry }> {
    const registry = new Registry();
    const metrics = createWebhookMetrics(registry);
    const worker = new WebhookDelivery({
      js,
      jsm,
      stream,
      outcomeStream,
      settings: {
        url,
        secret: SECRET,
        maxAttempts: 10,
        timeoutMs: 2000,
        backoffMs: 50,
        backoffMaxMs: 200,
        concurrency: 4,
        ...settings,
      },
      metrics,
      logger,
    });
    workers.push(worker);
    await worker.start();
    return { metrics, registry };
  }

  async function publish(n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const key = `ZGV2.${Buffer.from(`file-${i}`).toString('base64url')}`;
      const outcome: TransferOutcome = {
        id: outcomeId('complete', key, 1000 + i),
        kind: 'complete',
        key,
        clientId: 'dev',
        fileId: `file-${i}`,
        at: Date.now(),
        location: `file:///data/dev/file-${i}/f.bin`,
        size: i,
        checksum: '0'.repeat(64),
      };
      await publishOutcome(js, stream, outcome);
      // Published twice (an assembler's retry): stored once.
      expect((await publishOutcome(js, stream, outcome)).duplicate).toBe(true);
      ids.push(outcome.id);
    }
    return ids;
  }

  const counter = async (registry: Registry, name: string, result: string) =>
    (await registry.getSingleMetric(name)?.get())?.values.find((v) => v.labels.outcome === result)
      ?.value ?? 0;

  it('replicas share one durable consumer: each outcome is delivered once, signed', async () => {
    await setUp();
    const replicas = await Promise.all([startWorker({}), startWorker({}), startWorker({})]);
    const ids = await publish(40);
    await waitFor(() => hits.length >= 40, { what: '40 deliveries' });
    await expectQuiet(1000);
    expect(hits.map((h) => h.id).sort()).toEqual([...ids].sort());
    expect(hits.every((h) => h.signed && h.attempt === 1)).toBe(true);
    const delivered = await Promise.all(
      replicas.map((r) =>
        counter(r.registry, 'mqft_control_webhook_deliveries_total', 'delivered'),
      ),
    );
    expect(delivered.reduce((a, b) => a + b, 0)).toBe(40);
  });

  it('a replica started with other settings takes over the same consumer, where it was', async () => {
    await setUp();
    await startWorker({});
    const first = await publish(3);
    await waitFor(() => hits.length >= 3, { what: 'the first deliveries' });
    await workers.pop()?.stop();
    const second = await publish(6);
    await startWorker({ timeoutMs: 5000, concurrency: 2 });
    await waitFor(() => hits.length >= 6, { what: 'the later deliveries' });
    await expectQuiet(500);
    expect(hits.map((h) => h.id).sort()).toEqual([...first, ...second.slice(3)].sort());
    const info = await jsm.consumers.info(outcomeStream, 'mqft-webhook');
    expect(info.config.ack_wait).toBe((2 * 5000 + 30_000) * 1_000_000);
  });

  it('retries a failing endpoint with backoff, then dead-letters after MQFT_WEBHOOK_MAX_ATTEMPTS', async () => {
    await setUp();
    status = 500;
    const errors: unknown[] = [];
    const silent = createLogger('webhook-test', 'silent');
    const logger = Object.assign(Object.create(silent) as Logger, {
      error: (...args: unknown[]) => void errors.push(args),
    });
    const { registry } = await startWorker({ maxAttempts: 3 }, logger);
    const ids = await publish(2);
    const dead = await jsm.consumers.add(outcomeStream, {
      ack_policy: AckPolicy.None,
      filter_subject: deadLetterSubjects(stream),
    });
    const reader = await js.consumers.get(outcomeStream, dead.name);
    const letters: { id: string | undefined; attempts: string | undefined; body: string }[] = [];
    await waitFor(
      async () => {
        const batch = await reader.fetch({ max_messages: 10, expires: 1000 });
        for await (const m of batch) {
          letters.push({
            id: m.headers?.get('x-mqft-event-id'),
            attempts: m.headers?.get('Mqft-Attempts'),
            body: m.string(),
          });
        }
        return letters.length >= 2;
      },
      { timeoutMs: 15_000, what: 'two dead letters' },
    );
    await expectQuiet(1000);
    expect(letters.map((l) => l.id).sort()).toEqual([...ids].sort());
    expect(letters.every((l) => l.attempts === '3')).toBe(true);
    expect((JSON.parse(letters[0]?.body ?? '{}') as TransferOutcome).kind).toBe('complete');
    // Each outcome was tried exactly 3 times (attempts 1, 2, 3), then no more.
    for (const id of ids) {
      expect(hits.filter((h) => h.id === id).map((h) => h.attempt)).toEqual([1, 2, 3]);
    }
    expect(await counter(registry, 'mqft_control_webhook_deliveries_total', 'dead_lettered')).toBe(
      2,
    );
    expect(await counter(registry, 'mqft_control_webhook_attempts_total', 'http_error')).toBe(6);
    expect(errors).toHaveLength(2);
    expect(JSON.stringify(errors[0])).toContain('dead-lettered');
  });

  it('counts a request that outlives MQFT_WEBHOOK_TIMEOUT as a failed attempt', async () => {
    await setUp();
    const slow = createServer(() => undefined); // never answers
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      const port = (slow.address() as AddressInfo).port;
      const { registry } = await startWorker({
        url: `http://127.0.0.1:${port}/`,
        timeoutMs: 200,
        maxAttempts: 2,
      });
      await publish(1);
      await waitFor(
        async () =>
          (await counter(registry, 'mqft_control_webhook_deliveries_total', 'dead_lettered')) === 1,
        { what: 'the dead letter' },
      );
      expect(await counter(registry, 'mqft_control_webhook_attempts_total', 'timeout')).toBe(2);
    } finally {
      slow.closeAllConnections();
      await new Promise((resolve) => slow.close(resolve));
    }
  });

  /** A bounded quiet window: no further request within `ms`. */
  async function expectQuiet(ms: number): Promise<void> {
    const before = hits.length;
    await new Promise((resolve) => setTimeout(resolve, ms));
    expect(hits.slice(before)).toEqual([]);
  }
});
