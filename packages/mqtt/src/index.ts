// MQTT plumbing shared by the services: connections that survive broker restarts, and
// results for devices (docs/protocol.md "Results").
export {
  connectMqtt,
  endMqtt,
  mqttTlsOptions,
  type ConnectMqttOptions,
  type MqttTlsFiles,
} from './connect.js';
export {
  mqttConnectionSettings,
  type MqttConnectionConfig,
  type MqttConnectionSettings,
} from './from-config.js';
export {
  createResultPublisher,
  isPublishableTopic,
  publishResult,
  resultsCounter,
  RESULT_OUTCOMES,
  RESULT_PUBACK_TIMEOUT_MS,
  resultTopic,
  type PublishResultOptions,
  type ResultContent,
  type ResultCounter,
  type ResultOutcome,
  type ResultPublisher,
  type ResultTarget,
} from './results.js';
