// Launchers for the real servers mqft runs on, so real-server tests read like unit tests:
// each starts its own process on a free loopback port in its own temp dir, waits until it
// really answers, and hands back a ServerHandle (stop, kill, restart).
export { startMosquitto, renderMosquittoConfig, mosquittoPasswordEntry } from './mosquitto.js';
export { MOSQUITTO_CONF, MOSQUITTO_ACL_EXAMPLE, type MosquittoOptions } from './mosquitto.js';
export { startNats, type NatsOptions } from './nats.js';
export { startRedis, type RedisOptions } from './redis.js';
export { startS3rver, type S3rverOptions, type S3ServerHandle } from './s3rver.js';
export {
  startServer,
  handleSignalsYourself,
  type ServerHandle,
  type ServerSpec,
  type LaunchContext,
} from './server-process.js';
export type { LaunchCommand } from './server-process.js';
export { freePort, exchange } from './ports.js';
export { uniqueName, bucketName, sharedNatsUrl, sharedRedisUrl } from './names.js';
export { waitFor, sleep, type WaitForOptions } from './wait.js';
export {
  startMqftService,
  REPO_ROOT,
  SERVICE_RUNTIME_ENV,
  type MqftServiceName,
} from './mqft-service.js';
export { startMqftStack, type MqftStack, type MqftStackOptions } from './mqft-stack.js';
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
