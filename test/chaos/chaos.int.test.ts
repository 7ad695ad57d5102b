import { describe, expect, it } from 'vitest';
import { chaosSeed, formatReport, runChaos, type Scenario } from './harness.js';

// The short CI variant of the chaos suite (docs/reliability.md): every scenario once, with a
// fixed seed (replay or vary with MQFT_CHAOS_SEED=<n>), a few devices and files up to 12 MiB.
// The long runs are `pnpm exec tsx test/chaos/soak.ts --minutes 10`.
//
// Each scenario runs a whole pipeline of real processes (Mosquitto, 2 ingest, 2 assembler, and
// its own NATS / Redis / s3rver when it kills them) and checks, after the fault: every file
// byte-identical in storage exactly once, no %tmp leftovers, no unfinished multipart upload,
// no segments left in the stream, no lease or segment map left in Redis.

const log = (line: string) => process.stdout.write(`[chaos] ${line}\n`);

const CI: Record<Scenario, { seed: number; faults: number }> = {
  'ingest-kill': { seed: 101, faults: 2 },
  'assembler-kill': { seed: 202, faults: 2 },
  'nats-restart': { seed: 303, faults: 1 },
  'redis-loss': { seed: 404, faults: 1 },
  'broker-restart': { seed: 505, faults: 1 },
  'storage-outage': { seed: 606, faults: 1 },
  'device-disconnects': { seed: 707, faults: 0 },
};

describe('chaos: faults mid-upload lose nothing', () => {
  for (const [scenario, ci] of Object.entries(CI) as [Scenario, (typeof CI)[Scenario]][]) {
    it(
      scenario,
      async () => {
        const seed = chaosSeed(ci.seed);
        const report = await runChaos({
          scenario,
          seed,
          devices: 4,
          uploadsPerDevice: 3,
          maxSize: 12 * 1024 * 1024,
          faults: ci.faults,
          deadlineMs: 60_000,
          log,
        });
        log(formatReport(report));
        expect(
          report.problems,
          `scenario ${scenario} failed; replay with MQFT_CHAOS_SEED=${seed}`,
        ).toEqual([]);
        if (scenario !== 'device-disconnects') expect(report.faults.length).toBeGreaterThan(0);
      },
      120_000,
    );
  }
});
