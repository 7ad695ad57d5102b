import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager, type ClusterInfo } from '@nats-io/jetstream';
import { upload, type UploadResult } from '@mqft/client';
import { transferKey } from '@mqft/protocol';
import { seededBytes, seededRandom, waitFor, type ServerHandle } from '@mqft/test-support';
import { startClusterEnv, type ClusterEnv } from './cluster-env.js';

/**
 * Failover on the production topology (Redis Cluster of 3 masters + 3 replicas, NATS cluster
 * of 3 with an R3 stream, two brokers): while UPLOADS uploads run (SDK devices spread over both
 * brokers), kill -9 the stream's leader, a Redis master, or broker B. Every file must arrive
 * byte-identical, exactly once, and nothing may be left behind (segment maps, leases, command
 * messages in the stream).
 *
 * What each kill costs the devices (docs/operations.md "Production topology on clusters"):
 * - stream leader: publishes fail until NATS elects a new leader (5–8 s here); ingest retries
 *   them and devices retransmit what got no result within their timeout.
 * - Redis master: recording fails until its replica is promoted (2–3 s with node timeout 1 s);
 *   the stream redelivers. Asynchronous replication may lose the shard's last writes: a lost
 *   segment record is recovered by the protocol (fin → after MQFT_FIN_GRACE `incomplete` (0x80)
 *   with `missing` → the SDK resends those ranges and fin), a lost init by the SDK's init resend.
 * - broker B: its devices reconnect to broker A and send everything unanswered again.
 *
 * Seeds: MQFT_CLUSTER_SEEDS (comma-separated). By default the suite runs ONE seed per kind
 * (part of `pnpm test`, about a minute); MQFT_CLUSTER_FAILOVER=1 runs seeds 1–5 (the issue's bar:
 * at least 5 seeded runs × 30 uploads per kind), and test/cluster/failover-soak.ts runs any
 * number of seeds, one process each. Uploads per run: MQFT_CLUSTER_UPLOADS (default 30).
 * MQFT_CLUSTER_KINDS picks kinds (`stream-leader,redis-master,broker`); MQFT_CLUSTER_DEBUG=1
 * prints the services' complaints and the leftovers of a failed run; MQFT_CLUSTER_LOG_DIR keeps
 * every service's and server's log.
 */
const SEEDS = (
  process.env.MQFT_CLUSTER_SEEDS ?? (process.env.MQFT_CLUSTER_FAILOVER ? '1,2,3,4,5' : '1')
)
  .split(',')
  .map(Number);
const UPLOADS = Number(process.env.MQFT_CLUSTER_UPLOADS ?? 30);

const ALL_KINDS: readonly Chaos[] = ['stream leader', 'redis master', 'broker'];
/** MQFT_CLUSTER_KINDS: a comma-separated subset (`stream-leader,redis-master,broker`). */
const KINDS: readonly Chaos[] = process.env.MQFT_CLUSTER_KINDS
  ? ALL_KINDS.filter((kind) =>
      process.env.MQFT_CLUSTER_KINDS?.split(',').includes(kind.replace(' ', '-')),
    )
  : ALL_KINDS;
/** MQFT_CLUSTER_LOG_DIR: where the services' logs are copied before the environment stops. */
const LOG_DIR = process.env.MQFT_CLUSTER_LOG_DIR;

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

type Chaos = 'stream leader' | 'redis master' | 'broker';

interface Measured {
  seed: number;
  chaos: Chaos;
  /** Kill → the next segment confirmed by any upload. */
  resumeMs: number;
  /** Kill → the engine healthy again (new stream leader / cluster_state ok / —). */
  recoveredMs?: number;
  /** Kill → every upload done. */
  doneMs: number;
}

const measured: Measured[] = [];

describe('failover on the production topology', () => {
  let env: ClusterEnv;
  const clients: MqttClient[] = [];
  let run = 0;

  beforeAll(async () => {
    env = await startClusterEnv({
      redisReplicas: 1,
      // Longer than a stream leader election (5–8 s here): segments that ingest is still
      // retrying are not reported missing. Shorter graces are correct too, only costlier.
      env: { MQFT_FIN_GRACE: '10s' },
    });
  }, 90_000);
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.endAsync(true)));
    if (env && LOG_DIR) await env.copyLogs(LOG_DIR);
    await env?.stop();
    console.log(`failover measurements:\n${measured.map((m) => JSON.stringify(m)).join('\n')}`);
  });

  /** A device on broker `index`, failing over to the other broker when its broker dies. */
  const device = async (index: 0 | 1, id: string): Promise<MqttClient> => {
    const own = env.brokers[index];
    const other = env.brokers[1 - index] as ServerHandle;
    const client = await connectAsync(own.url, {
      clientId: id,
      protocolVersion: 5,
      reconnectPeriod: 200,
      connectTimeout: 2_000,
      servers: [
        { host: own.host, port: own.port },
        { host: other.host, port: other.port },
      ],
    });
    clients.push(client);
    return client;
  };

  const chaos = async (kind: Chaos, random: () => number): Promise<() => Promise<number>> => {
    if (kind === 'stream leader') {
      const quick = await jetstreamManager(env.nc, { timeout: 1000, checkAPI: false });
      let leader = '';
      await waitFor(
        async () => {
          leader = (await quick.streams.info(env.stream)).cluster?.leader ?? '';
          return leader !== '';
        },
        { timeoutMs: 15_000, what: 'the stream leader' },
      );
      const node = env.nats.nodes.find((_, i) => leader.endsWith(`_n${i}`));
      if (!node) throw new Error(`no node is the stream leader ${leader}`);
      await node.kill();
      const killedAt = Date.now();
      // Measured, not required: the uploads completing is what counts (-1: not seen in 30 s).
      return async () =>
        waitFor(
          async () => {
            const now = (await quick.streams.info(env.stream)).cluster?.leader;
            return now !== undefined && now !== leader;
          },
          { timeoutMs: 30_000, intervalMs: 20, what: 'a new stream leader' },
        ).then(
          () => Date.now() - killedAt,
          () => -1,
        );
    }
    if (kind === 'redis master') {
      const masters = await env.redis.masters();
      const victim = masters[Math.floor(random() * masters.length)] as ServerHandle;
      await victim.kill();
      const killedAt = Date.now();
      return async () => {
        await waitFor(async () => (await env.redis.masters()).length === 3, {
          timeoutMs: 20_000,
          intervalMs: 20,
          what: 'a promoted replica',
        });
        await env.redis.waitOk(20_000);
        return Date.now() - killedAt;
      };
    }
    await env.brokers[1].kill();
    return () => Promise.resolve(0);
  };

  /**
   * Brings every killed server back and waits until the cluster is whole again: each run tests
   * ONE failure. A NATS node restarted a moment ago is not yet a current replica of the stream
   * (it catches up first); killing the leader then leaves no quorum until it has, which is two
   * failures at once (seen: 20 s without a stream leader).
   */
  const heal = async () => {
    for (const node of [...env.nats.nodes, ...env.redis.nodes, ...env.brokers])
      if (!node.running) await node.restart();
    await env.nats.waitJetStream();
    await env.redis.waitOk(20_000);
    // A restarted Redis node is a replica only once its sync is done: killing its master
    // before that leaves the shard without a master (seen: seeds 1,2,3 in a row).
    await env.redis.waitReplicasInSync(20_000);
    const quick = await jetstreamManager(env.nc, { timeout: 1000, checkAPI: false });
    const whole = (cluster: ClusterInfo | undefined) =>
      cluster?.leader !== undefined &&
      cluster.replicas?.length === env.nats.nodes.length - 1 &&
      cluster.replicas.every((peer) => peer.current && !peer.offline);
    await waitFor(
      async () =>
        whole((await quick.streams.info(env.stream)).cluster) &&
        whole((await quick.consumers.info(env.stream, 'assembler-headers')).cluster),
      { timeoutMs: 30_000, intervalMs: 100, what: 'all stream and consumer replicas current' },
    );
  };

  const scenarios: [number, Chaos][] = SEEDS.flatMap((seed) =>
    KINDS.map((c) => [seed, c] as [number, Chaos]),
  );

  it.each(scenarios)('seed %d: kill -9 the %s mid-upload', async (seed, kind) => {
    const before = clients.length;
    try {
      await heal();
      // From the seed and the kind only, so `MQFT_CLUSTER_SEEDS=<seed>` repeats a failed run.
      const random = seededRandom(seed * 1000 + ALL_KINDS.indexOf(kind));
      run++;
      const items = Array.from({ length: UPLOADS }, (_, i) => {
        const size = 20_000 + Math.floor(random() * 300_000);
        return {
          i,
          fileId: `s${seed}-${kind.replace(' ', '-')}-${i}`,
          data: seededBytes(random, size),
        };
      });
      const total = items.reduce((sum, item) => sum + item.data.length, 0);
      const killAfter = total * (0.2 + random() * 0.3);
      let confirmed = 0;
      let lastProgressAt = Date.now();
      const doneAt: number[] = [];
      const runId = run;
      const ids = items.map((item) => `d${seed}-${runId}-${item.i}`);
      const clientsNow = await Promise.all(
        items.map((item, n) => device((item.i % 2) as 0 | 1, ids[n] as string)),
      );
      const keys = new Set(
        items.map((item, n) => transferKey({ clientId: ids[n] as string, fileId: item.fileId })),
      );
      const leftoverMessages = async () =>
        Object.entries(await env.streamLeftovers()).filter(([key]) => keys.has(key));
      let killed: (() => void) | undefined;
      const reached = new Promise<void>((resolve) => (killed = resolve));
      const uploads = items.map((item, n) => {
        const u = upload(clientsNow[n] as MqttClient, item.data, {
          fileId: item.fileId,
          name: 'f.bin',
          segmentSize: 16 * 1024,
          window: 4,
          resultTimeoutMs: 2_000,
          // 30 sends of a command 2 s apart outlast what the protocol may need after a Redis
          // failover lost a segment record: fin waits MQFT_FIN_GRACE (10 s here) from the first
          // fin, then `incomplete` asks for the missing ranges and a fin of its own.
          retry: { maxAttempts: 30, backoffMs: 200, backoffCapMs: 2_000 },
        });
        let before = 0;
        u.on('progress', (p) => {
          confirmed += p.bytesConfirmed - before;
          before = p.bytesConfirmed;
          lastProgressAt = Date.now();
          if (confirmed >= killAfter) killed?.();
        });
        return u.done.then((r: UploadResult) => {
          doneAt.push(Date.now());
          killed?.(); // tiny runs may finish before reaching the mark
          return r;
        });
      });
      await reached;
      const healthy = await chaos(kind, random);
      const killedAt = Date.now();
      const recoveredMs = await healthy();
      const resumeWait = waitFor(() => lastProgressAt > killedAt || doneAt.length === UPLOADS, {
        timeoutMs: 60_000,
        intervalMs: 10,
        what: 'progress after the kill',
      }).then(() => Math.max(0, lastProgressAt - killedAt));
      const results = await Promise.all(uploads);
      const resumeMs = await resumeWait;
      const record: Measured = {
        seed,
        chaos: kind,
        resumeMs,
        ...(kind === 'broker' ? {} : { recoveredMs }),
        doneMs: Math.max(...doneAt) - killedAt,
      };
      measured.push(record);
      for (const [n, item] of items.entries()) {
        const result = results[n] as UploadResult;
        expect(result.checksum).toBe(sha256(item.data));
        const stored = await readFile(fileURLToPath(result.location));
        expect(sha256(stored), item.fileId).toBe(sha256(item.data));
      }
      // Exactly once: one file per upload of this run, no strays.
      const files = (await env.storedFiles()).filter((f) => f.startsWith(`d${seed}-${runId}-`));
      expect(files.sort()).toEqual(ids.map((id, n) => `${id}/${items[n]?.fileId}/f.bin`).sort());
      // Nothing left behind for the completed transfers.
      await waitFor(
        async () =>
          (await env.keys('ft:*:segs')).length === 0 &&
          (await env.keys('ft:*:lease')).length === 0 &&
          (await leftoverMessages()).length === 0,
        { timeoutMs: 15_000, what: 'no leftovers' },
      ).catch(async (err: Error) => {
        const left = {
          segs: await env.keys('ft:*:segs'),
          leases: await env.keys('ft:*:lease'),
          messages: Object.fromEntries(await leftoverMessages()),
        };
        throw new Error(`${err.message}: ${JSON.stringify(left)}`);
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (process.env.MQFT_CLUSTER_DEBUG) {
        // With the cluster still broken the dump itself may fail: it must not hide `err`.
        try {
          const services = [...env.stacks[0].assemblers, ...env.stacks.flatMap((s) => s.ingests)];
          for (const service of services) {
            const lines = (await service.logTail(400)).split('\n');
            console.log(
              lines
                .filter((l) => /"level":"(warn|error)"/.test(l))
                .slice(-15)
                .join('\n'),
            );
          }
          for (const meta of await env.keys('ft:*:meta')) {
            const record = await env.redisClient.hgetall(meta);
            if (record.state !== 'complete')
              console.log(
                meta,
                JSON.stringify({
                  ...record,
                  filemeta: undefined,
                  finReply: record.finReply?.slice(0, 80),
                }),
              );
          }
          const leftovers = await env.streamLeftovers();
          console.log('stream leftovers', JSON.stringify(leftovers));
          for (const key of Object.keys(leftovers))
            console.log(key, JSON.stringify(await env.streamMessages(key)));
        } catch (dumpErr) {
          console.log('debug dump failed', dumpErr);
        }
      }
      throw new Error(`[seed ${seed}, ${kind}; rerun with MQFT_CLUSTER_SEEDS=${seed}] ${message}`, {
        cause: err,
      });
    } finally {
      // A failed run's uploads must not go on beside the next run.
      await Promise.allSettled(clients.splice(before).map((c) => c.endAsync(true)));
    }
  });
});
