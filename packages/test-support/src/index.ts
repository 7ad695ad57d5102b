// Launchers for the real servers mqft runs on, so real-server tests read like unit tests:
// each starts its own process on a free loopback port in its own temp dir, waits until it
// really answers, and hands back a ServerHandle (stop, kill, restart).
export { startMosquitto, renderMosquittoConfig, mosquittoPasswordEntry } from './mosquitto.js';
export { MOSQUITTO_CONF, MOSQUITTO_ACL_EXAMPLE, type MosquittoOptions } from './mosquitto.js';
export {
  startScopedMosquitto,
  SCOPED_SERVICE_USERS,
  type ScopedMosquitto,
  type ScopedMosquittoOptions,
} from './scoped-mosquitto.js';
export { startNats, type NatsOptions } from './nats.js';
export { startRedis, type RedisOptions } from './redis.js';
export { startS3rver, type S3rverOptions, type S3ServerHandle } from './s3rver.js';
export { startS3Stack, type S3Stack, type S3StackOptions } from './s3-stack.js';
export {
  startServer,
  handleSignalsYourself,
  type ServerHandle,
  type ServerExit,
  type ServerSpec,
  type LaunchContext,
} from './server-process.js';
export type { LaunchCommand } from './server-process.js';
export { freePort, exchange } from './ports.js';
export { uniqueName, bucketName, sharedNatsUrl, sharedRedisUrl } from './names.js';
export {
  waitFor,
  expectQuiet,
  sleep,
  type WaitForOptions,
  type ExpectQuietOptions,
} from './wait.js';
export { seededRandom, seededBytes } from './random.js';
export { residentBytes, cpuSeconds, samplePeakRss } from './process-stats.js';
export { readiness, metricValue } from './ops-endpoints.js';
export {
  startMqftService,
  REPO_ROOT,
  SERVICE_RUNTIME_ENV,
  type MqftServiceName,
  type MqftServiceOptions,
} from './mqft-service.js';
export {
  startMqftStack,
  deleteStackData,
  type MqftStack,
  type MqftStackOptions,
} from './mqft-stack.js';
export {
  startRedisCluster,
  type RedisClusterHandle,
  type RedisClusterOptions,
} from './redis-cluster.js';
export {
  startNatsCluster,
  type NatsClusterHandle,
  type NatsClusterOptions,
} from './nats-cluster.js';
export {
  openApiProblems,
  OpenApiClient,
  type ApiResponse,
  type OpenApiDocument,
} from './openapi.js';
