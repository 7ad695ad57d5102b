// Wiring only: configuration → startIngest → signals.
import { ConfigError, createLogger } from '@mqft/config';
import { loadIngestConfig } from './config.js';
import { startIngest } from './ingest.js';
import { stopOnSignals } from './shutdown.js';

async function main(): Promise<void> {
  const config = loadIngestConfig();
  const logger = createLogger('ingest', config.logLevel);
  const ingest = await startIngest(config, { logger });
  stopOnSignals(() => ingest.stop(), logger);
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(err.message);
  else createLogger('ingest').fatal({ err }, 'ingest failed to start');
  process.exit(1);
});
