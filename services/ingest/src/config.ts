import { httpAddrVariable, loadConfig, MQFT_VARIABLES as V, type ConfigOf } from '@mqft/config';

export const ingestConfigSchema = {
  mqttUrl: V.mqttUrl,
  mqttSubscription: V.mqttSubscription,
  mqttTopicPrefix: V.mqttTopicPrefix,
  mqttClientId: V.mqttClientId,
  mqttUsername: V.mqttUsername,
  mqttPassword: V.mqttPassword,
  mqttCa: V.mqttCa,
  mqttCert: V.mqttCert,
  mqttKey: V.mqttKey,
  ingestConnections: V.ingestConnections,
  ingestUnsubscribeOnStop: V.ingestUnsubscribeOnStop,
  layout: V.layout,
  natsUrl: V.natsUrl,
  stream: V.stream,
  streamReplicas: V.streamReplicas,
  segmentsTtl: V.segmentsTtl,
  maxFileSize: V.maxFileSize,
  maxFilemetaBytes: V.maxFilemetaBytes,
  maxFilemetaDepth: V.maxFilemetaDepth,
  maxSegmentSize: V.maxSegmentSize,
  shutdownGrace: V.shutdownGrace,
  logLevel: V.logLevel,
  httpAddr: httpAddrVariable('127.0.0.1:9101'),
};

export type IngestConfig = ConfigOf<typeof ingestConfigSchema>;

export function loadIngestConfig(
  env: Record<string, string | undefined> = process.env,
): IngestConfig {
  return loadConfig(ingestConfigSchema, env);
}
