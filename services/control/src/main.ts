import { runService } from '@mqft/config';
import { loadControlConfig } from './config.js';
import { startControl } from './control.js';

await runService(
  'control',
  () => loadControlConfig(),
  async (config, logger) => {
    const control = await startControl(config, logger);
    return {
      registry: control.registry,
      checks: control.checks,
      stop: () => control.stop(config.shutdownGrace),
    };
  },
);
