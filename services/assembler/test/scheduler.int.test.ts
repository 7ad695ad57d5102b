import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '@mqft/config';
import { transferKey } from '@mqft/protocol';
import { createStorage } from '@mqft/storage';
import {
  ClientQuotas,
  CreatedIndexes,
  createRedis,
  DueIndex,
  dueIndexKey,
  RebuildLock,
  StateEpoch,
  transferKeys,
  TransferStore,
  type RedisClient,
} from '@mqft/state';
import { connectNats } from '@mqft/stream';
import { sharedNatsUrl, sharedRedisUrl, uniqueName, waitFor } from '@mqft/test-support';
import { loadAssemblerConfig } from '../src/config.js';
import type { AssemblerContext } from '../src/context.js';
import { createAssemblerMetrics } from '../src/metrics.js';
import { AssemblyScheduler } from '../src/scheduler.js';

// An assembly attempt that Redis fails after the lease was taken (test/cluster/failover, a
// Redis master's kill -9: "Connection is closed" in the middle of the attempt) must hand the
// transfer back at once. Left leased, it waited for the lease watchdog, 2 lease TTLs, while the
// device's fins were ignored (state 'assembling'), and the device gave up. Here a real Redis
// fails the attempt deterministically: the segment map is not a hash when the lease holder
// reads it (WRONGTYPE), after acquireLease succeeded.

const LEASE_TTL_MS = 30_000;
let redis: RedisClient;
let nc: NatsConnection;
let dir: string;
let ctx: AssemblerContext;
let store: TransferStore;
const prefix = `${uniqueName('sched')}:`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mqft-sched-'));
  redis = createRedis(sharedRedisUrl());
  nc = await connectNats(sharedNatsUrl(), uniqueName('sched'));
  store = new TransferStore(redis, prefix);
  const config = loadAssemblerConfig({
    MQFT_REDIS_PREFIX: prefix,
    MQFT_STREAM: uniqueName('SCHED'),
    MQFT_STORAGE: `file://${dir}`,
    MQFT_LEASE_TTL: `${LEASE_TTL_MS}ms`,
    MQFT_LOG_LEVEL: 'silent',
  });
  ctx = {
    config,
    store,
    due: new DueIndex(redis, prefix),
    quotas: new ClientQuotas(redis, prefix),
    indexes: new CreatedIndexes(redis, prefix, {
      maxListed: config.maxListedTransfers,
      maxListedPerClient: config.maxListedPerClient,
    }),
    epoch: new StateEpoch(redis, prefix),
    rebuildLock: new RebuildLock(redis, prefix),
    jsm: await jetstreamManager(nc),
    storage: createStorage(config.storage),
    sendResult: async () => undefined,
    events: { publish: () => undefined },
    metrics: createAssemblerMetrics(new Registry()),
    logger: createLogger('assembler', 'silent'),
    owner: 'sched-test',
    requestAssembly: () => undefined,
  };
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  await nc.close();
  await rm(dir, { recursive: true, force: true });
});

it('an attempt that Redis fails after taking the lease hands the transfer back, due again soon', async () => {
  const key = transferKey({ clientId: 'dev1', fileId: 'f1' });
  const k = transferKeys(prefix, key);
  const now = Date.now();
  const ttlMs = 60_000;
  await store.recordInit(key, {
    canonical: '{"name":"a"}',
    filemetaJson: '{"name":"a"}',
    name: 'a',
    clientId: 'dev1',
    fileId: 'f1',
    now,
    ttlMs,
  });
  await store.recordSegment(key, { offset: 0, seq: 1, length: 10, now, ttlMs, create: true });
  expect(
    (
      await store.recordFin(key, {
        size: 10,
        reply: '',
        now,
        ttlMs,
        clientId: 'dev1',
        fileId: 'f1',
        create: true,
      })
    ).status,
  ).toBe('ready');
  // The fault: reading the segment map fails (the lease is taken by then).
  await redis.del(k.segs);
  await redis.set(k.segs, 'not a hash');

  const scheduler = new AssemblyScheduler(ctx);
  const started = Date.now();
  scheduler.request(key);
  await waitFor(() => scheduler.active === 0, { what: 'the attempt to end' });

  // Handed back: not leased, 'receiving' (a retransmitted fin is 'ready' again, not ignored),
  // and due within seconds, not at the watchdog's 2 lease TTLs.
  expect(await redis.exists(k.lease)).toBe(0);
  expect((await store.get(key))?.state).toBe('receiving');
  const due = Number(await redis.zscore(dueIndexKey(prefix), key));
  expect(due).toBeGreaterThan(started);
  expect(due).toBeLessThan(Date.now() + 5_000);
  await scheduler.stop(0);
});
