import type { Engines, Infra } from './infra.js';
import type { Row } from './report.js';

export interface Context {
  smoke: boolean;
  infra: Infra;
  /** Directory for CPU profiles: when set, the services run with --cpu-prof. */
  cpuProfDir: string | undefined;
  /** NATS and Redis for the stacks instead of the infra's single nodes (clusters). */
  engines?: Engines;
  log(message: string): void;
}

export type Scenario = (ctx: Context) => Promise<Row[]>;

/** A size in MiB from the environment (e.g. BENCH_FILE_MIB), else the default. */
export function envMiB(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}
