export { ConfigError, loadConfig, vars, type ConfigOf, type Variable } from './env.js';
export { parseByteSize, parseDuration } from './duration.js';
export { MQFT_VARIABLES, httpAddrVariable } from './variables.js';
export { createLogger, type Logger } from './logger.js';
export {
  cutForLog,
  loggable,
  redactUrlCredentials,
  MAX_LOGGED_STRING_CHARS,
  REDACTED,
} from './redact.js';
export { createMetricsRegistry } from './metrics.js';
export { startOpsServer, type OpsServer, type ReadinessCheck } from './ops-server.js';
export { runService, type StartedService } from './run-service.js';
export { sleep } from './sleep.js';
