const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** Byte ranges [start, end) as "0–1023, 4096–8191" (inclusive ends, as people read them). */
export function formatRanges(ranges: readonly (readonly [number, number])[], most = 4): string {
  const shown = ranges.slice(0, most).map(([start, end]) => `${start}–${end - 1}`);
  if (ranges.length > most) shown.push(`… ${ranges.length - most} more`);
  return shown.join(', ');
}

/** An RFC 3339 time as a short local time; the date too unless it is today. */
export function formatTime(iso: string, now: Date = new Date()): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const sameDay = at.toDateString() === now.toDateString();
  return sameDay ? at.toLocaleTimeString() : at.toLocaleString();
}
