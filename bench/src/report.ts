import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** One line of the results table. */
export interface Row {
  scenario: string;
  case: string;
  value: number;
  unit: string;
  /** The same-run baseline in the same unit (absent: no baseline). */
  baseline?: number;
  ratio?: number;
  target?: string;
  met?: boolean;
  /** Everything else measured (per-service CPU, RSS, counts…). */
  details?: Record<string, unknown>;
}

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

export function fmt(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '';
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

export function header(): string {
  return '| scenario | case | value | unit | baseline | ratio | target | met |\n|---|---|---|---|---|---|---|---|';
}

export function line(row: Row): string {
  const met = row.met === undefined ? '' : row.met ? 'yes' : '**no**';
  return `| ${row.scenario} | ${row.case} | ${fmt(row.value)} | ${row.unit} | ${fmt(row.baseline)} | ${fmt(row.ratio)} | ${row.target ?? ''} | ${met} |`;
}

export async function writeResults(scenario: string, smoke: boolean, rows: Row[]): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = `${RESULTS_DIR}${scenario}${smoke ? '.smoke' : ''}.json`;
  const body = { scenario, smoke, at: new Date().toISOString(), rows };
  await writeFile(file, JSON.stringify(body, null, 2) + '\n');
  return file;
}

export const MB = 1e6;
export const mbPerS = (bytes: number, ms: number): number => bytes / MB / (ms / 1000);
