// What a process costs, read from Linux /proc: for memory bounds in tests and benchmarks.
import { readFile } from 'node:fs/promises';
import { sleep } from './wait.js';

const TICKS_PER_SECOND = 100; // Linux USER_HZ

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

/** utime + stime of a process in seconds, or 0 when it is gone. */
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

/**
 * Samples the peak RSS of each named process every `intervalMs` until stopped. `pids` is
 * asked at every sample, so processes restarted meanwhile are followed.
 */
export function samplePeakRss(
  pids: () => Record<string, number | undefined>,
  intervalMs = 50,
): {
  /** The peaks so far, while sampling goes on. */
  current(): Record<string, number>;
  /** Ends the sampling; the peaks. */
  stop(): Promise<Record<string, number>>;
} {
  const peak: Record<string, number> = {};
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const [name, pid] of Object.entries(pids())) {
        peak[name] = Math.max(peak[name] ?? 0, await residentBytes(pid));
      }
      await sleep(intervalMs);
    }
  })();
  return {
    current: () => ({ ...peak }),
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}
