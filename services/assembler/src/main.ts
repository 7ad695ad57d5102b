import { runService } from '@mqft/config';
import { startAssembler } from './assembler.js';
import { loadAssemblerConfig } from './config.js';

await runService(
  'assembler',
  () => loadAssemblerConfig(),
  (config, logger) => startAssembler(config, logger),
);
