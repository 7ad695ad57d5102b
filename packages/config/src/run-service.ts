import type { Registry } from 'prom-client';
import { ConfigError } from './env.js';
import { createLogger, type Logger } from './logger.js';
import { startOpsServer, type ReadinessCheck } from './ops-server.js';
import { stopOnSignals } from './signals.js';

/** What a service's start function hands back to the process wiring. */
export interface StartedService {
  readonly registry: Registry;
  readonly checks: Record<string, ReadinessCheck>;
  /** Stops taking work, finishes or hands back what is in flight, closes connections. */
  stop(): Promise<void>;
}

interface ServiceConfig {
  logLevel: string;
  httpAddr: { host: string; port: number };
}

/**
 * A service's `main`: validated configuration (exit 2 with every problem listed), the service,
 * its /metrics /healthz /readyz, and SIGTERM/SIGINT — readiness false first, then a graceful
 * stop, exit 0 (a second signal exits at once).
 */
export async function runService<C extends ServiceConfig>(
  name: string,
  loadServiceConfig: () => C,
  start: (config: C, logger: Logger) => Promise<StartedService>,
): Promise<void> {
  let config: C;
  try {
    config = loadServiceConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`mqft ${name}: ${err.message}\n`);
    process.exit(2);
  }
  const logger = createLogger(name, config.logLevel);
  let service: StartedService;
  try {
    service = await start(config, logger);
  } catch (err) {
    logger.fatal({ err }, 'cannot start');
    process.exit(1);
  }
  const ops = await startOpsServer({
    ...config.httpAddr,
    registry: service.registry,
    checks: service.checks,
    logger,
  });
  stopOnSignals(async () => {
    ops.drain();
    await service.stop();
    await ops.close();
  }, logger);
}
