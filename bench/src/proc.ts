// The benchmarks' CPU meter; residentBytes, cpuSeconds and samplePeakRss are test-support's.
import { cpuSeconds } from '@mqft/test-support';

/** CPU seconds each named process used between start() and stop(). */
export async function cpuMeter(pids: Record<string, number | undefined>) {
  const before: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) before[name] = await cpuSeconds(pid);
  const self0 = process.cpuUsage();
  return {
    async stop(): Promise<Record<string, number>> {
      const used: Record<string, number> = {};
      for (const [name, pid] of Object.entries(pids)) {
        used[name] = (await cpuSeconds(pid)) - (before[name] ?? 0);
      }
      const self = process.cpuUsage(self0);
      used['bench (devices)'] = (self.user + self.system) / 1e6;
      return used;
    },
  };
}

/**
 * The pipeline's own processes (issue #16's "broker + ingest + NATS + Redis + assembler"):
 * not s3rver (the storage) and not the bench process (the devices).
 */
const PIPELINE = /^(mosquitto|nats\d*|redis\d*|ingest\d+|assembler\d+)$/;

/** The CPU seconds of the pipeline's processes in a cpuMeter() reading, summed. */
export function pipelineCpuSeconds(used: Record<string, number>): number {
  return Object.entries(used)
    .filter(([name]) => PIPELINE.test(name))
    .reduce((sum, [, seconds]) => sum + seconds, 0);
}
