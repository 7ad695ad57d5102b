// Wiring only: configuration → startIngest → signals.
import { ConfigError, createLogger, stopOnSignals } from '@mqft/config';
import { loadIngestConfig } from './config.js';
import { startIngest } from './ingest.js';

async function main(): Promise<void> {
  const config = loadIngestConfig();
  const logger = createLogger('ingest', config.logLevel);
  const ingest = await startIngest(config, { logger });
  stopOnSignals(() => ingest.stop(), logger);
}

main().catch((err: unknown) => {
  // Exit codes as every service's: 2 for configuration, 1 for anything else.
  if (err instanceof ConfigError) process.stderr.write(`mqft ingest: ${err.message}\n`);
  else createLogger('ingest').fatal({ err }, 'ingest failed to start');
  process.exit(err instanceof ConfigError ? 2 : 1);
});
