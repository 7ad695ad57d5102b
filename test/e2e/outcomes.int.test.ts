import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager, AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedNatsUrl, startMqftStack, waitFor, type MqftStack } from '@mqft/test-support';
import { outcomeSubjects, type TransferOutcome } from '../../packages/stream/src/index.js';
import { verifyWebhook } from '../../services/control/src/webhooks/signature.js';
import { TestDevice, sha256 } from './device.js';

const FILES = 100;
const DEVICES = 4;
const WEBHOOK_DOWN_MS = 30_000;
const SECRET = 'test-webhook-secret';

/** One request the webhook endpoint got, and what it answered. */
interface HookRequest {
  id: string;
  status: number | 'dropped';
  signed: boolean;
  outcome: TransferOutcome;
}

/**
 * Outcomes for backends through real processes (Mosquitto, ingest, assembler, control with a
 * webhook): a durable consumer that was away while 100 files completed gets all 100 when it is
 * back, and a webhook endpoint that fails for 30 s gets each of them, exactly once per id.
 */
describe('transfer outcomes for backends', () => {
  let stack: MqftStack;
  let dir: string;
  let nc: NatsConnection;
  let hook: Server;
  let failUntil = Infinity;
  const requests: HookRequest[] = [];
  /** What each device's fin answered, by file: location and the data's SHA-256. */
  const uploaded = new Map<string, { location: string; sha256: string; size: number }>();
  const outcomeStream = () => `${stack.stream}_OUTCOMES`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqft-outcomes-'));
    hook = createServer((req, res) => void answer(req, res));
    const answer = async (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const header = (name: string) => req.headers[name] as string | undefined;
      const request: Omit<HookRequest, 'status'> = {
        id: header('x-mqft-event-id') ?? '',
        signed: verifyWebhook(SECRET, {
          timestamp: header('x-mqft-timestamp'),
          signature: header('x-mqft-signature'),
          body,
        }),
        outcome: JSON.parse(body.toString('utf8')) as TransferOutcome,
      };
      if (Date.now() < failUntil) {
        // Down: mostly 503, every fourth request a connection dropped without an answer.
        if (requests.length % 4 === 3) {
          requests.push({ ...request, status: 'dropped' });
          req.socket.destroy();
          return;
        }
        requests.push({ ...request, status: 503 });
        res.writeHead(503).end();
        return;
      }
      requests.push({ ...request, status: 204 });
      res.writeHead(204).end();
    };
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const { port } = hook.address() as AddressInfo;
    stack = await startMqftStack({
      storage: `file://${dir}`,
      control: true,
      env: {
        MQFT_WEBHOOK_URL: `http://127.0.0.1:${port}/mqft/outcomes?tenant=a`,
        MQFT_WEBHOOK_SECRET: SECRET,
        MQFT_WEBHOOK_MAX_ATTEMPTS: '200',
        MQFT_WEBHOOK_BACKOFF: '250ms',
        MQFT_WEBHOOK_BACKOFF_MAX: '4s',
        MQFT_WEBHOOK_TIMEOUT: '2s',
      },
    });
    nc = await connect({ servers: sharedNatsUrl() });
  });
  afterAll(async () => {
    await nc?.close();
    await stack?.stop();
    hook?.closeAllConnections();
    await new Promise((resolve) => hook?.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('a consumer that was down while 100 files completed receives all 100 once it is back', async () => {
    const jsm = await jetstreamManager(nc);
    // The backend's durable consumer exists, and nothing reads it while the files complete.
    await jsm.consumers.add(outcomeStream(), {
      durable_name: 'backend',
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: outcomeSubjects(stack.stream),
    });
    failUntil = Date.now() + WEBHOOK_DOWN_MS;
    const devices = await Promise.all(
      Array.from({ length: DEVICES }, () => TestDevice.connect(stack.mqttUrl)),
    );
    try {
      await Promise.all(
        devices.map(async (device, d) => {
          for (let i = d; i < FILES; i += DEVICES) {
            const data = randomBytes(1000 + i);
            const result = await device.upload(`file-${i}`, data, { name: `f${i}.bin` });
            expect(result).toMatchObject({ reason_code: 0 });
            uploaded.set(`${device.clientId}/file-${i}`, {
              location: result.location ?? '',
              sha256: sha256(data),
              size: data.length,
            });
          }
        }),
      );
    } finally {
      await Promise.all(devices.map((d) => d.close()));
    }
    expect(uploaded.size).toBe(FILES);

    // Back: a new connection resumes the durable consumer where it was.
    const backend = await connect({ servers: sharedNatsUrl() });
    const got: TransferOutcome[] = [];
    try {
      const consumer = await jetstream(backend).consumers.get(outcomeStream(), 'backend');
      await waitFor(
        async () => {
          const batch = await consumer.fetch({ max_messages: 50, expires: 1000 });
          for await (const msg of batch) {
            got.push(msg.json<TransferOutcome>());
            msg.ack();
          }
          return got.length >= FILES;
        },
        { timeoutMs: 60_000, what: `${FILES} outcomes` },
      );
      const rest = await consumer.fetch({ max_messages: 10, expires: 1000 });
      for await (const msg of rest) got.push(msg.json<TransferOutcome>());
    } finally {
      await backend.close();
    }
    expect(got).toHaveLength(FILES);
    expect(new Set(got.map((o) => o.id)).size).toBe(FILES);
    for (const outcome of got) {
      const file = uploaded.get(`${outcome.clientId}/${outcome.fileId}`);
      expect(outcome).toMatchObject({
        kind: 'complete',
        location: file?.location,
        size: file?.size,
        checksum: file?.sha256,
        name: `${outcome.fileId.replace('file-', 'f')}.bin`,
      });
      expect(outcome.id).toBe(`complete.${outcome.key}.${outcome.id.split('.').pop()}`);
    }

    // Stored, not only delivered: a consumer made now replays all of them.
    const replay = await jsm.consumers.info(outcomeStream(), 'backend');
    expect(replay.num_pending).toBe(0);
    const stream = await jsm.streams.info(outcomeStream());
    expect(stream.state.messages).toBe(FILES);
  });

  it('a webhook endpoint failing for 30 s still gets every outcome, exactly once per id, signed', async () => {
    await waitFor(() => deliveredIds().size >= FILES, {
      timeoutMs: WEBHOOK_DOWN_MS + 60_000,
      intervalMs: 500,
      what: `${FILES} outcomes delivered to the webhook`,
    });
    // What was delivered is not delivered again (a quiet window of several retry periods).
    await expectNoMoreRequests(5000);

    const delivered = requests.filter((r) => r.status === 204);
    expect(delivered).toHaveLength(FILES);
    expect(deliveredIds().size).toBe(FILES);
    expect([...deliveredIds()].sort()).toEqual([...new Set(requests.map((r) => r.id))].sort());
    // The endpoint really was down: every outcome that completed while it was failed at least
    // once, and retries came back for each of them.
    const failed = requests.filter((r) => r.status !== 204);
    expect(failed.length).toBeGreaterThanOrEqual(FILES);
    expect(failed.some((r) => r.status === 'dropped')).toBe(true);
    for (const request of requests) {
      expect(request.signed, `signature of ${request.id}`).toBe(true);
      expect(request.outcome.id).toBe(request.id);
    }
    const metrics = await (await fetch(`${stack.control?.url}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(
        `mqft_control_webhook_deliveries_total\\{[^}]*outcome="delivered"[^}]*\\} ${FILES}`,
      ),
    );
  });

  /** A bounded quiet window: no request arrives within `ms`. */
  async function expectNoMoreRequests(ms: number): Promise<void> {
    const before = requests.length;
    await new Promise((resolve) => setTimeout(resolve, ms));
    expect(requests.slice(before)).toEqual([]);
  }

  function deliveredIds(): Set<string> {
    return new Set(requests.filter((r) => r.status === 204).map((r) => r.id));
  }
});
