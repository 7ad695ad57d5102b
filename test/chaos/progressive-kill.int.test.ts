import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { connectAsync } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { upload } from '@mqft/client';
import { transferKey } from '@mqft/protocol';
import {
  metricValue,
  sharedRedisUrl,
  sleep,
  startMqftStack,
  type MqftStack,
} from '@mqft/test-support';

// kill -9 of the assembler holding a progressive assembly (docs/internals.md "Assembly"), in
// the middle of a large upload, before its fin: the other assembler finishes the file (from
// zero), byte-identical, and nothing is left behind (no temp file, no lease). The holder's death
// is not an assembly death (the transfer was still receiving). Repeat with
// MQFT_CHAOS_REPEAT=<n>.

const SIZE = 48 * 1024 * 1024;
const REPEAT = Number(process.env.MQFT_CHAOS_REPEAT ?? '1');
const log = (line: string) => process.stdout.write(`[chaos progressive] ${line}\n`);

describe('chaos: an assembler killed mid progressive assembly', () => {
  let stack: MqftStack | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await stack?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (let run = 1; run <= REPEAT; run++) {
    it(`loses nothing, run ${run}`, async () => {
      dir = await mkdtemp(join(tmpdir(), 'mqft-chaos-progressive-'));
      const storage = `file://${join(dir, 'files')}`;
      stack = await startMqftStack({
        storage,
        ingests: 1,
        assemblers: 2,
        env: {
          MQFT_LEASE_TTL: '3s',
          MQFT_FIN_GRACE: '5s',
          MQFT_SHUTDOWN_GRACE: '2s',
          MQFT_PROGRESSIVE_MIN_BYTES: '2MiB',
        },
      });
      const running = stack;
      const device = await connectAsync(running.mqttUrl, {
        clientId: `chaos-progressive-${run}-${Date.now()}`,
        protocolVersion: 5,
        reconnectPeriod: 300,
      });
      const redis = new Redis(sharedRedisUrl());
      try {
        const data = randomBytes(SIZE);
        const fileId = `big-${run}`;
        const key = transferKey({ clientId: device.options.clientId as string, fileId });
        const meta = `${running.redisPrefix}ft:{${key}}:meta`;
        const transfer = upload(device, data, {
          fileId,
          name: 'big.bin',
          resultTimeoutMs: 3_000,
          retry: { maxAttempts: 1_000, backoffMs: 250, backoffCapMs: 2_000 },
        });
        const done = transfer.done;
        done.catch(() => undefined);

        // The replica that holds the progressive assembly, while the transfer still receives.
        let victim: number | undefined;
        const until = Date.now() + 60_000;
        while (victim === undefined && Date.now() < until) {
          for (const [i, a] of running.assemblers.entries()) {
            const active = await metricValue(a.url, 'mqft_assembler_progressive_active');
            const [state, prog, finSize] = await redis.hmget(meta, 'state', 'prog', 'finSize');
            if (
              (active ?? 0) > 0 &&
              state === 'receiving' &&
              Number(prog) >= SIZE / 3 &&
              !finSize
            ) {
              victim = i;
              break;
            }
          }
          if (victim === undefined) await sleep(20);
        }
        expect(victim, 'no progressive assembly seen before fin').toBeDefined();
        const prog = Number(await redis.hget(meta, 'prog'));
        await running.assemblers[victim as number]?.kill();
        log(
          `run ${run}: assembler ${victim} killed with ${(prog / 2 ** 20).toFixed(1)} MiB claimed`,
        );

        const result = await done;
        expect(result.location).toBeDefined();
        const stored = await readFile(fileURLToPath(result.location));
        expect(stored.length).toBe(SIZE);
        expect(createHash('sha256').update(stored).digest('hex')).toBe(
          createHash('sha256').update(data).digest('hex'),
        );
        // Not an assembly death: the holder died while the transfer was receiving.
        expect(await redis.hget(meta, 'deaths')).toBeNull();
        expect(await redis.exists(`${running.redisPrefix}ft:{${key}}:lease`)).toBe(0);
        const temp = await readdir(join(dir, 'files', '%tmp')).catch(() => [] as string[]);
        expect(temp).toEqual([]);
      } finally {
        redis.disconnect();
        await device.endAsync();
      }
    }, 180_000);
  }
});
