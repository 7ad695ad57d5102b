import { httpAddrVariable, loadConfig, MQFT_VARIABLES as V, type ConfigOf } from '@mqft/config';

export const assemblerConfigSchema = {
  mqttUrl: V.mqttUrl,
  mqttClientId: V.mqttClientId,
  mqttUsername: V.mqttUsername,
  mqttPassword: V.mqttPassword,
  mqttCa: V.mqttCa,
  mqttCert: V.mqttCert,
  mqttKey: V.mqttKey,
  natsUrl: V.natsUrl,
  stream: V.stream,
  streamReplicas: V.streamReplicas,
  redisUrl: V.redisUrl,
  redisPrefix: V.redisPrefix,
  storage: V.storage,
  storagePartSize: V.storagePartSize,
  finGrace: V.finGrace,
  segmentsTtl: V.segmentsTtl,
  maxFileSize: V.maxFileSize,
  maxFilemetaBytes: V.maxFilemetaBytes,
  maxFilemetaDepth: V.maxFilemetaDepth,
  maxActiveTransfers: V.maxActiveTransfers,
  orphanTtl: V.orphanTtl,
  maxListedTransfers: V.maxListedTransfers,
  maxListedPerClient: V.maxListedPerClient,
  assemblyConcurrency: V.assemblyConcurrency,
  recordConcurrency: V.recordConcurrency,
  leaseTtl: V.leaseTtl,
  shutdownGrace: V.shutdownGrace,
  logLevel: V.logLevel,
  httpAddr: httpAddrVariable('127.0.0.1:9102'),
};

export type AssemblerConfig = ConfigOf<typeof assemblerConfigSchema>;

export function loadAssemblerConfig(
  env: Record<string, string | undefined> = process.env,
): AssemblerConfig {
  return loadConfig(assemblerConfigSchema, env);
}
