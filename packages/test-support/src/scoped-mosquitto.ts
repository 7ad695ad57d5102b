import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MOSQUITTO_ACL_EXAMPLE, mosquittoPasswordEntry, startMosquitto } from './mosquitto.js';
import { freePort } from './ports.js';
import type { ServerHandle } from './server-process.js';

/** The broker users of deploy/mosquitto/acl.example that mqft itself logs in as. */
export const SCOPED_SERVICE_USERS = {
  bridge: 'mqft-bridge',
  ingest: 'mqft-ingest',
  assembler: 'mqft-assembler',
} as const;

export interface ScopedMosquittoOptions {
  /** The devices that may log in: each username is the device's clientId. */
  devices: readonly string[];
  /** The devices' listener port (default: a free one). */
  devicePort?: number;
}

export interface ScopedMosquitto {
  /** The broker; its `url` is the services' listener (and the loopback bridge's). */
  readonly broker: ServerHandle;
  /** The devices' listener: `use_username_as_clientid true`, so %c is the logged-in user. */
  readonly deviceUrl: string;
  /** The password file the broker reads (one line per user). */
  readonly passwordFile: string;
  /** The password of a user (a device or one of SCOPED_SERVICE_USERS). */
  password(user: string): string;
  /** MQFT_MQTT_USERNAME / MQFT_MQTT_PASSWORD of each service that connects to MQTT. */
  readonly serviceEnv: Readonly<Record<'ingest' | 'assembler', Record<string, string>>>;
  stop(): Promise<void>;
}

/**
 * The project's Mosquitto locked down for the scoped layout as docs/security.md says: the ACL
 * of deploy/mosquitto/acl.example, a password file (a random password per user, anonymous
 * access off), the loopback bridge logging in as `mqft-bridge`, and the devices on a listener
 * of their own with `use_username_as_clientid true`. Services connect to `broker.url` with
 * `serviceEnv`; devices to `deviceUrl` with their clientId as username and `password(id)`.
 */
export async function startScopedMosquitto(
  options: ScopedMosquittoOptions,
): Promise<ScopedMosquitto> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'mqft-scoped-'));
  const users = [...Object.values(SCOPED_SERVICE_USERS), ...options.devices];
  const passwords = new Map(users.map((user) => [user, randomBytes(12).toString('hex')]));
  const password = (user: string): string => {
    const found = passwords.get(user);
    if (found === undefined) throw new Error(`${user} is not a user of this broker`);
    return found;
  };
  const passwordFile = path.join(dir, 'passwd');
  await fsp.writeFile(
    passwordFile,
    users.map((user) => mosquittoPasswordEntry(user, password(user))).join('\n') + '\n',
    { mode: 0o600 },
  );
  const devicePort = options.devicePort ?? (await freePort('127.0.0.1'));
  let broker: ServerHandle;
  try {
    broker = await startMosquitto({
      aclFile: MOSQUITTO_ACL_EXAMPLE,
      passwordFile,
      extraConfig: [
        // Still in the bridge section: the bridge logs in like any client.
        `remote_username ${SCOPED_SERVICE_USERS.bridge}`,
        `remote_password ${password(SCOPED_SERVICE_USERS.bridge)}`,
        // The devices' listener: the username is the clientId.
        `listener ${devicePort} 127.0.0.1`,
        'use_username_as_clientid true',
      ].join('\n'),
    });
  } catch (err) {
    await fsp.rm(dir, { recursive: true, force: true });
    throw err;
  }
  const login = (user: string) => ({
    MQFT_MQTT_USERNAME: user,
    MQFT_MQTT_PASSWORD: password(user),
  });
  return {
    broker,
    deviceUrl: `mqtt://127.0.0.1:${devicePort}`,
    passwordFile,
    password,
    serviceEnv: {
      ingest: login(SCOPED_SERVICE_USERS.ingest),
      assembler: login(SCOPED_SERVICE_USERS.assembler),
    },
    async stop() {
      await broker.stop();
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}
