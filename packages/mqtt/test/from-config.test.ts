import { describe, expect, it } from 'vitest';
import { mqttConnectionSettings } from '../src/index.js';

const unset = {
  mqttUrl: 'mqtt://broker:1883',
  mqttUsername: '',
  mqttPassword: '',
  mqttCa: '',
  mqttCert: '',
  mqttKey: '',
};

describe('mqttConnectionSettings', () => {
  it('leaves out what is not configured', () => {
    expect(mqttConnectionSettings(unset)).toEqual({ url: 'mqtt://broker:1883', tls: {} });
  });

  it('maps credentials and TLS files', () => {
    const settings = mqttConnectionSettings({
      mqttUrl: 'mqtts://broker:8883',
      mqttUsername: 'svc',
      mqttPassword: 'secret',
      mqttCa: '/tls/ca.pem',
      mqttCert: '/tls/cert.pem',
      mqttKey: '/tls/key.pem',
    });
    expect(settings).toEqual({
      url: 'mqtts://broker:8883',
      username: 'svc',
      password: 'secret',
      tls: { ca: '/tls/ca.pem', cert: '/tls/cert.pem', key: '/tls/key.pem' },
    });
  });
});
