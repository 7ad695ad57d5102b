import type { ConnectMqttOptions } from './connect.js';

/** The MQFT_MQTT_* connection variables every service reads (empty string: not set). */
export interface MqttConnectionConfig {
  mqttUrl: string;
  mqttUsername: string;
  mqttPassword: string;
  /** PEM file paths (MQFT_MQTT_CA / _CERT / _KEY). */
  mqttCa: string;
  mqttCert: string;
  mqttKey: string;
}

export type MqttConnectionSettings = Pick<
  ConnectMqttOptions,
  'url' | 'username' | 'password' | 'tls'
>;

/**
 * Where and as whom a service connects to the broker, from its configuration: the one
 * mapping of MQFT_MQTT_URL, _USERNAME, _PASSWORD, _CA, _CERT and _KEY, empty values left out.
 */
export function mqttConnectionSettings(config: MqttConnectionConfig): MqttConnectionSettings {
  return {
    url: config.mqttUrl,
    ...(config.mqttUsername && { username: config.mqttUsername }),
    ...(config.mqttPassword && { password: config.mqttPassword }),
    tls: {
      ...(config.mqttCa && { ca: config.mqttCa }),
      ...(config.mqttCert && { cert: config.mqttCert }),
      ...(config.mqttKey && { key: config.mqttKey }),
    },
  };
}
