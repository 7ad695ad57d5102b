import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Cluster } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  startNatsCluster,
  startRedisCluster,
  type NatsClusterHandle,
  type RedisClusterHandle,
} from '@mqft/test-support';

/** The cluster launchers themselves: real clusters that answer as clusters. */
describe('cluster launchers', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await Promise.allSettled(cleanups.map((c) => c()));
  });

  it('starts a Redis Cluster of three masters that refuses cross-slot scripts', async () => {
    const cluster: RedisClusterHandle = await startRedisCluster();
    cleanups.push(() => cluster.stop());
    expect(cluster.nodes).toHaveLength(3);
    expect(await cluster.masters()).toHaveLength(3);
    const nodes = cluster.url
      .slice('redis+cluster://'.length)
      .split(',')
      .map((hp) => ({ host: hp.split(':')[0], port: Number(hp.split(':')[1]) }));
    const redis = new Cluster(nodes);
    try {
      for (let i = 0; i < 20; i++) await redis.set(`k${i}`, String(i));
      expect(await redis.get('k7')).toBe('7');
      await expect(redis.eval('return 1', 2, '{a}x', '{b}y')).rejects.toThrow(/CROSSSLOT/);
      expect(await redis.eval('return 1', 2, '{a}x', '{a}y')).toBe(1);
    } finally {
      redis.disconnect();
    }
  });

  it('starts a NATS cluster of three whose R3 stream survives its leader', async () => {
    const cluster: NatsClusterHandle = await startNatsCluster({ size: 3 });
    cleanups.push(() => cluster.stop());
    const nc = await connect({ servers: cluster.url.split(','), reconnectTimeWait: 100 });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'R3', subjects: ['r3.>'], num_replicas: 3 });
      const info = await jsm.streams.info('R3');
      expect(info.cluster?.replicas).toHaveLength(2);
      const leader = cluster.nodes.find((n) =>
        info.cluster?.leader?.endsWith(`_n${cluster.nodes.indexOf(n)}`),
      );
      expect(leader).toBeDefined();
      await leader?.kill();
      const js = jsm.jetstream();
      const started = Date.now();
      let acked = false;
      while (!acked && Date.now() - started < 15_000) {
        acked = await js.publish('r3.x', 'after', { timeout: 1000 }).then(
          () => true,
          () => false,
        );
      }
      expect(acked).toBe(true);
      expect((await jsm.streams.info('R3')).cluster?.leader).not.toBe(info.cluster?.leader);
    } finally {
      await nc.close();
    }
  });
});
