import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { Context } from '../context.js';
import { closeAll, connectDevices, MiB, sha256, timedUpload } from '../device.js';
import { startBenchStack, stackPids } from '../infra.js';
import { cpuMeter } from '../proc.js';
import { RedisCountingProxy } from '../redis-proxy.js';
import type { Row } from '../report.js';

const GiB = 1024 * MiB;
const SEGMENT = 64 * 1024;

async function commandStats(url: string): Promise<Record<string, number>> {
  const redis = new Redis(url);
  try {
    const info = await redis.info('commandstats');
    const stats: Record<string, number> = {};
    for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) stats[m[1]!] = Number(m[2]);
    return stats;
  } finally {
    redis.disconnect();
  }
}

async function natsVarz(
  monitor: string,
): Promise<{ inMsgs: number; outMsgs: number; outBytes: number }> {
  const v = (await (await fetch(`${monitor}/varz`)).json()) as {
    in_msgs: number;
    out_msgs: number;
    out_bytes: number;
  };
  return { inMsgs: v.in_msgs, outMsgs: v.out_msgs, outBytes: v.out_bytes };
}

async function streamLastSeq(natsUrl: string, stream: string): Promise<number> {
  const nc = await connect({ servers: natsUrl });
  try {
    return (await (await jetstreamManager(nc)).streams.info(stream)).state.last_seq;
  } finally {
    await nc.close();
  }
}

/** `files` files of `size` from `devices` devices; every cost divided by the segments sent. */
async function measure(ctx: Context, label: string, files: number, size: number, devices: number) {
  const proxy = await RedisCountingProxy.start(ctx.infra.redis);
  const stack = await startBenchStack(ctx.infra, { backend: 's3', redisUrl: proxy.url });
  const clients = await connectDevices(
    stack.mqttUrl,
    devices,
    `bench-cost-${randomUUID().slice(0, 6)}`,
  );
  const data = randomBytes(size);
  const checksum = sha256(data);
  try {
    const stats0 = await commandStats(ctx.infra.redis.url);
    const varz0 = await natsVarz(ctx.infra.natsMonitor);
    const proxy0 = { commands: proxy.commands, roundTrips: proxy.roundTrips };
    const meter = await cpuMeter(stackPids(ctx.infra, stack));
    let next = 0;
    await Promise.all(
      clients.map(async (client) => {
        while (next < files) {
          const i = next++;
          await timedUpload(client, data, {
            fileId: `c${i}`,
            name: 'c.bin',
            checksum,
            resultTimeoutMs: 120_000,
          });
        }
      }),
    );
    await new Promise((r) => setTimeout(r, 1500)); // let purges and index updates land
    const cpu = await meter.stop();
    const stats1 = await commandStats(ctx.infra.redis.url);
    const varz1 = await natsVarz(ctx.infra.natsMonitor);
    const segments = files * Math.ceil(size / SEGMENT);
    const commands = Object.fromEntries(
      Object.entries(stats1)
        .map(([k, v]) => [k, (v - (stats0[k] ?? 0)) / segments] as const)
        .filter(([k, v]) => v > 0 && k !== 'info'),
    );
    const perSeg = {
      redisCommandsSent: (proxy.commands - proxy0.commands) / segments,
      redisRoundTrips: (proxy.roundTrips - proxy0.roundTrips) / segments,
      redisCommandstats: commands,
      jetstreamStored: (await streamLastSeq(ctx.infra.nats.url, stack.stream)) / segments,
      natsMsgsIn: (varz1.inMsgs - varz0.inMsgs) / segments,
      natsMsgsOut: (varz1.outMsgs - varz0.outMsgs) / segments,
      /** Bytes NATS sent to its clients per byte uploaded (deliveries, direct gets, acks…). */
      natsBytesOutPerByte: (varz1.outBytes - varz0.outBytes) / (files * size),
    };
    const gib = (files * size) / GiB;
    const cpuPerGiB = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, v / gib]));
    const c = `${label} (${segments} segments)`;
    const rows: Row[] = [
      {
        scenario: 'cost-per-segment',
        case: `${c}: Redis commands sent`,
        value: perSeg.redisCommandsSent,
        unit: '/segment',
        details: { perSegment: perSeg },
      },
      {
        scenario: 'cost-per-segment',
        case: `${c}: Redis round trips`,
        value: perSeg.redisRoundTrips,
        unit: '/segment',
      },
      {
        scenario: 'cost-per-segment',
        case: `${c}: JetStream messages stored`,
        value: perSeg.jetstreamStored,
        unit: '/segment',
      },
      {
        scenario: 'cost-per-segment',
        case: `${c}: NATS messages in+out`,
        value: perSeg.natsMsgsIn + perSeg.natsMsgsOut,
        unit: '/segment',
      },
      {
        scenario: 'cost-per-segment',
        case: `${c}: NATS bytes out per byte uploaded`,
        value: perSeg.natsBytesOutPerByte,
        unit: 'B/B',
      },
    ];
    for (const [name, v] of Object.entries(cpuPerGiB)) {
      rows.push({
        scenario: 'cost-per-segment',
        case: `${c}: CPU ${name}`,
        value: v,
        unit: 'CPU-s/GiB',
      });
    }
    return rows;
  } finally {
    await closeAll(clients);
    await stack.stop();
    await proxy.close();
  }
}

export async function costPerSegment(ctx: Context): Promise<Row[]> {
  const big = ctx.smoke ? 8 : 256;
  const small = ctx.smoke ? 10 : 300;
  ctx.log(`one ${big} MiB file`);
  const rows = await measure(ctx, `1 × ${big} MiB`, 1, big * MiB, 1);
  ctx.log(`${small} files of 1 MiB`);
  rows.push(
    ...(await measure(ctx, `${small} × 1 MiB, 20 devices`, small, MiB, ctx.smoke ? 5 : 20)),
  );
  return rows;
}
