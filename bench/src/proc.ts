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
