import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  readiness,
  sleep,
  startMqftService,
  startMosquitto,
  startNats,
  startRedis,
  uniqueName,
  type ServerHandle,
} from '@mqft/test-support';

// /readyz is what a Kubernetes readiness probe reads: 503 takes the pod out of its Service
// (and out of a rollout's count of available pods) while a dependency is away, 200 puts it
// back, and the body names what is failing. /healthz stays 200: the process is alive, and
// restarting it would not bring the dependency back.

const FLIP_WITHIN_MS = 8_000;

async function waitForReadiness(
  service: ServerHandle,
  status: number,
  timeoutMs = FLIP_WITHIN_MS,
): Promise<{ status: number; body: string; ms: number }> {
  const started = performance.now();
  for (;;) {
    const answer = await readiness(service.url);
    const ms = performance.now() - started;
    if (answer.status === status) return { ...answer, ms };
    if (ms > timeoutMs) {
      throw new Error(
        `${service.name} /readyz stayed ${answer.status} (${answer.body.trim()}) for ${Math.round(ms)} ms, expected ${status}`,
      );
    }
    await sleep(100);
  }
}

async function healthz(service: ServerHandle): Promise<number> {
  return (await fetch(`${service.url}/healthz`)).status;
}

/** Kills `dependency`, expects 503 naming `check`, restarts it, expects 200 again. */
async function outageFlipsReadiness(
  service: ServerHandle,
  dependency: ServerHandle,
  check: string,
): Promise<void> {
  expect((await readiness(service.url)).status).toBe(200);
  await dependency.kill();
  const down = await waitForReadiness(service, 503);
  expect(down.body).toContain(check);
  expect(await healthz(service)).toBe(200);
  await dependency.restart();
  const up = await waitForReadiness(service, 200, 30_000);
  process.stdout.write(
    `[readiness] ${service.name}/${check}: 503 after ${Math.round(down.ms)} ms ("${down.body.trim()}"), ` +
      `200 ${Math.round(up.ms)} ms after the restart\n`,
  );
}

describe('a dependency outage flips readiness, and recovery flips it back', () => {
  const servers: ServerHandle[] = [];
  const services: ServerHandle[] = [];
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqft-readiness-'));
  });
  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await Promise.all(servers.map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  async function own<T extends ServerHandle>(start: Promise<T>): Promise<T> {
    const server = await start;
    servers.push(server);
    return server;
  }

  async function service(...args: Parameters<typeof startMqftService>): Promise<ServerHandle> {
    const started = await startMqftService(...args);
    services.push(started);
    return started;
  }

  it('ingest: NATS, then the MQTT broker', async () => {
    const [nats, broker] = await Promise.all([own(startNats()), own(startMosquitto())]);
    const stream = uniqueName('MQFT_READY');
    const ingest = await service('ingest', {
      MQFT_NATS_URL: nats.url,
      MQFT_MQTT_URL: broker.url,
      MQFT_STREAM: stream,
      MQFT_MQTT_CLIENT_ID: `${stream}-i0`,
      MQFT_INGEST_CONNECTIONS: '1',
      MQFT_TRUST_CLIENTID_PROPERTY: 'true',
    });
    await outageFlipsReadiness(ingest, nats, 'nats');
    await outageFlipsReadiness(ingest, broker, 'mqtt');
  });

  it('assembler: Redis', async () => {
    const [nats, redis, broker] = await Promise.all([
      own(startNats()),
      own(startRedis()),
      own(startMosquitto()),
    ]);
    const assembler = await service('assembler', {
      MQFT_NATS_URL: nats.url,
      MQFT_REDIS_URL: redis.url,
      MQFT_MQTT_URL: broker.url,
      MQFT_STREAM: uniqueName('MQFT_READY'),
      MQFT_STORAGE: `file://${dir}`,
    });
    await outageFlipsReadiness(assembler, redis, 'redis');
  });

  it('control: NATS, then Redis', async () => {
    const [nats, redis] = await Promise.all([own(startNats()), own(startRedis())]);
    const control = await service('control', {
      MQFT_NATS_URL: nats.url,
      MQFT_REDIS_URL: redis.url,
      MQFT_STREAM: uniqueName('MQFT_READY'),
      MQFT_STORAGE: `file://${dir}`,
      MQFT_GRPC_ADDR: `127.0.0.1:${await freePort()}`,
    });
    await outageFlipsReadiness(control, nats, 'nats');
    await outageFlipsReadiness(control, redis, 'redis');
  });

  it('assembler: NATS', async () => {
    const [nats, redis, broker] = await Promise.all([
      own(startNats()),
      own(startRedis()),
      own(startMosquitto()),
    ]);
    const assembler = await service('assembler', {
      MQFT_NATS_URL: nats.url,
      MQFT_REDIS_URL: redis.url,
      MQFT_MQTT_URL: broker.url,
      MQFT_STREAM: uniqueName('MQFT_READY'),
      MQFT_STORAGE: `file://${dir}`,
    });
    await outageFlipsReadiness(assembler, nats, 'nats');
  });
});
