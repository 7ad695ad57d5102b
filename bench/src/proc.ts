import { readFile } from 'node:fs/promises';

const TICKS_PER_SECOND = 100; // Linux USER_HZ

/** utime + stime of a process in seconds (Linux /proc), or 0 when it is gone. */
export async function cpuSeconds(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces): state is field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Resident set size of a process in bytes, or 0 when it is gone. */
export async function residentBytes(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kib = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kib ? Number(kib) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Samples the peak RSS of each named process until stopped. */
export function samplePeakRss(
  pids: Record<string, number | undefined>,
  intervalMs = 50,
): { stop(): Promise<Record<string, number>> } {
  const peak: Record<string, number> = Object.fromEntries(Object.keys(pids).map((k) => [k, 0]));
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const [name, pid] of Object.entries(pids)) {
        peak[name] = Math.max(peak[name] ?? 0, await residentBytes(pid));
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}

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
