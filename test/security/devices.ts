import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { TestDevice, type Identity } from '../e2e/device.js';

export interface SecureDeviceOptions {
  clientId?: string;
  identity?: Identity;
  username?: string;
  password?: string;
  /** PEM file paths for mqtts:// */
  ca?: string;
  cert?: string;
  key?: string;
}

type TestDeviceConstructor = new (
  client: MqttClient,
  clientId: string,
  identity: Identity,
) => TestDevice;

/**
 * A TestDevice (test/e2e/device.ts) that logs in with a password and/or over TLS with a client
 * certificate; TestDevice.connect knows neither, and its private constructor is reused as is.
 */
export async function connectDevice(
  url: string,
  options: SecureDeviceOptions = {},
): Promise<TestDevice> {
  const clientId = options.clientId ?? `dev-${randomBytes(4).toString('hex')}`;
  const clientOptions: IClientOptions = {
    clientId,
    protocolVersion: 5,
    clean: true,
    reconnectPeriod: 0,
    rejectUnauthorized: true,
    ...(options.username !== undefined ? { username: options.username } : {}),
    ...(options.password !== undefined ? { password: options.password } : {}),
    ...(options.ca ? { ca: readFileSync(options.ca) } : {}),
    ...(options.cert ? { cert: readFileSync(options.cert) } : {}),
    ...(options.key ? { key: readFileSync(options.key) } : {}),
  };
  const client = await connectAsync(url, clientOptions);
  await client.subscribeAsync(`$file-response/${clientId}`, { qos: 1 });
  const Device = TestDevice as unknown as TestDeviceConstructor;
  return new Device(client, clientId, options.identity ?? 'user-property');
}
