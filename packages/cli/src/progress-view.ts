import type { UploadProgress } from '@mqft/client';
import { formatBytes, formatDuration } from './format.js';
import type { CliIo } from './io.js';

/**
 * Shows upload progress on stderr: a redrawn bar on a terminal (at most 10 times a second),
 * else a plain line every `lineEveryMs` (default 1 s), so logs stay readable.
 */
export class ProgressView {
  private last = 0;
  private drawn = false;

  constructor(
    private readonly io: CliIo,
    private readonly lineEveryMs = 1000,
  ) {}

  get tty(): boolean {
    return this.io.stderr.isTTY === true;
  }

  update(progress: UploadProgress, force = false): void {
    const now = Date.now();
    const every = this.tty ? 100 : this.lineEveryMs;
    if (!force && now - this.last < every) return;
    this.last = now;
    if (this.tty) {
      this.io.stderr.write(`\r${bar(progress, this.io.stderr.columns ?? 80)}\x1b[K`);
      this.drawn = true;
    } else {
      this.io.stderr.write(`progress ${summary(progress)}\n`);
    }
  }

  /** Ends the bar's line, so what follows starts on a fresh one. */
  finish(): void {
    if (this.drawn) this.io.stderr.write('\n');
    this.drawn = false;
  }
}

export function summary(p: UploadProgress): string {
  const percent = `${(p.fraction * 100).toFixed(1)}%`;
  const bytes = `${formatBytes(p.bytesConfirmed)} / ${formatBytes(p.totalBytes)}`;
  return `${percent}  ${bytes}  ${formatBytes(Math.round(p.bytesPerSecond))}/s  ETA ${formatDuration(p.etaSeconds)}`;
}

function bar(p: UploadProgress, columns: number): string {
  const text = summary(p);
  const width = Math.max(10, Math.min(40, columns - text.length - 4));
  const full = Math.round(p.fraction * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${text}`;
}
