import { ConfigError, createLogger, startOpsServer } from '@mqft/config';
import { startAssembler } from './assembler.js';
import { loadAssemblerConfig } from './config.js';

let config;
try {
  config = loadAssemblerConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`mqft assembler: ${err.message}\n`);
  process.exit(2);
}
const logger = createLogger('assembler', config.logLevel);
const assembler = await startAssembler(config, logger);
const ops = await startOpsServer({
  ...config.httpAddr,
  registry: assembler.registry,
  checks: assembler.checks,
  logger,
});

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping');
  ops.drain();
  assembler
    .stop()
    .then(() => ops.close())
    .then(() => process.exit(0))
    .catch((err: unknown) => {
      logger.error({ err }, 'unclean stop');
      process.exit(1);
    });
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
