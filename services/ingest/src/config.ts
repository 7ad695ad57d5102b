import {
  ConfigError,
  httpAddrVariable,
  loadConfig,
  MQFT_VARIABLES as V,
  type ConfigOf,
} from '@mqft/config';

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
  trustClientIdProperty: V.trustClientIdProperty,
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

/**
 * The configuration, and a refusal of the unsafe pairing: in the emqx layout a device names
 * itself in the `clientid` user property, which only a broker that sets or checks it makes
 * trustworthy (docs/security.md "`emqx` layout (EMQX-compatible topics)"); starting so needs MQFT_TRUST_CLIENTID_PROPERTY.
 */
export function loadIngestConfig(
  env: Record<string, string | undefined> = process.env,
): IngestConfig {
  const config = loadConfig(ingestConfigSchema, env);
  if (config.layout === 'emqx' && !config.trustClientIdProperty) {
    throw new ConfigError([
      'MQFT_LAYOUT=emqx takes each device at its word (the clientid user property): set ' +
        'MQFT_TRUST_CLIENTID_PROPERTY=true if the broker sets or checks that property (EMQX ' +
        'rule, HiveMQ interceptor) or if any device may act under any clientId, else use ' +
        'MQFT_LAYOUT=scoped with the broker ACL of deploy/mosquitto/acl.example (docs/security.md)',
    ]);
  }
  return config;
}
