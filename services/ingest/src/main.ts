import { runService } from '@mqft/config';
import { loadIngestConfig } from './config.js';
import { startIngest } from './ingest.js';

await runService(
  'ingest',
  () => loadIngestConfig(),
  (config, logger) => startIngest(config, { logger }),
);
