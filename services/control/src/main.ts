import { ConfigError, createLogger, startOpsServer } from '@mqft/config';
import { loadControlConfig } from './config.js';
import { startControl } from './control.js';

let config;
try {
  config = loadControlConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`mqft control: ${err.message}\n`);
  process.exit(2);
}
const logger = createLogger('control', config.logLevel);
let control;
try {
  control = await startControl(config, logger);
} catch (err) {
  logger.fatal({ err }, 'cannot start');
  process.exit(1);
}
const ops = await startOpsServer({
  ...config.httpAddr,
  registry: control.registry,
  checks: control.checks,
  logger,
});

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping');
  ops.drain();
  control
    .stop(config.shutdownGrace)
    .then(() => ops.close())
    .then(() => process.exit(0))
    .catch((err: unknown) => {
      logger.error({ err }, 'unclean stop');
      process.exit(1);
    });
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
