import { pbkdf2Sync, randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exchange } from './ports.js';
import { startServer, type LaunchContext, type ServerHandle } from './server-process.js';

export interface MosquittoOptions {
  /** A fixed port (default: a free one). */
  port?: number;
  /** Keep the loopback bridge of deploy/mosquitto (default true). */
  bridge?: boolean;
  /** Keep sessions and queued messages across kill()/restart() (default false). */
  persistence?: boolean;
  /**
   * Appended at the very end. With the bridge on, that is inside the bridge section, so
   * bridge options such as `remote_username` apply to it; global options work anywhere.
   */
  extraConfig?: string;
  /** An ACL file, e.g. deploy/mosquitto/acl.example. */
  aclFile?: string;
  /** A password file (see mosquittoPasswordEntry); turns anonymous access off. */
  passwordFile?: string;
}

/** The project's deployed broker config, which every test broker starts from. */
export const MOSQUITTO_CONF = fileURLToPath(
  new URL('../../../deploy/mosquitto/mosquitto.conf', import.meta.url),
);

/** The example ACL of deploy/mosquitto (scoped layout). */
export const MOSQUITTO_ACL_EXAMPLE = fileURLToPath(
  new URL('../../../deploy/mosquitto/acl.example', import.meta.url),
);

const MOSQUITTO_BIN = process.env.MQFT_MOSQUITTO_BIN ?? 'mosquitto';

/**
 * Rewrites the deployed config for a test broker: the listener on `port` (loopback only),
 * the bridge's `address` pointing at that same port, persistence and logging in `dir`.
 * Replaced options keep their place; the deployed values of the others stay as they are.
 */
export function renderMosquittoConfig(
  deployed: string,
  opts: MosquittoOptions & { port: number; dir: string },
): string {
  // The options the launcher owns: replaced where they stand (null: dropped).
  const owned = new Map<string, string | null>([
    ['listener', `listener ${opts.port} 127.0.0.1`],
    ['persistence', `persistence ${opts.persistence ? 'true' : 'false'}`],
    ['persistence_location', `persistence_location ${opts.dir}${path.sep}`],
    ['log_dest', 'log_dest stderr'],
    ['pid_file', null],
    ['user', null],
    ['acl_file', null],
    ['password_file', null],
  ]);
  if (opts.passwordFile) owned.set('allow_anonymous', 'allow_anonymous false');
  const global: string[] = [];
  const bridge: string[] = [];
  let inBridge = false;
  for (const line of deployed.split('\n')) {
    const key = line.trim().split(/\s+/)[0] ?? '';
    if (key === 'connection') inBridge = true;
    if (inBridge) {
      bridge.push(key === 'address' ? `address 127.0.0.1:${opts.port}` : line);
    } else if (owned.has(key)) {
      const replacement = owned.get(key);
      if (replacement) global.push(replacement);
      owned.set(key, null); // once
    } else {
      global.push(line);
    }
  }
  const added = [
    ...[...owned.values()].filter((line): line is string => line !== null),
    // Running as root, Mosquitto would switch to the `mosquitto` user, which cannot write
    // the root-owned temp dir.
    ...(process.getuid?.() === 0 ? ['user root'] : []),
    ...(opts.aclFile ? [`acl_file ${opts.aclFile}`] : []),
    ...(opts.passwordFile ? [`password_file ${opts.passwordFile}`] : []),
  ];
  return [
    ...global,
    ...(added.length > 0 ? ['# --- added by @mqft/test-support ---', ...added, ''] : []),
    ...(opts.bridge === false ? [] : bridge),
    ...(opts.extraConfig ? ['', '# --- extraConfig ---', opts.extraConfig] : []),
    '',
  ].join('\n');
}

/** The client id the bridge shows on its own listener, to see it connect in the log. */
function bridgeClientId(config: string): string | undefined {
  const value = (key: string): string | undefined =>
    config.match(new RegExp(`^\\s*${key}\\s+(\\S+)`, 'm'))?.[1];
  const name = value('connection');
  if (name === undefined) return undefined;
  return value('remote_clientid') ?? value('clientid') ?? `${os.hostname()}.${name}`;
}

/** MQTT 3.1.1 CONNECT with a clean session, then DISCONNECT; any CONNACK means "answering". */
async function mqttAnswers(host: string, port: number): Promise<boolean> {
  const id = Buffer.from(`mqft-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  // protocol name "MQTT", level 4, flags: clean session, keep-alive 10 s, then the client id
  const header = [0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 10, 0, id.length];
  const body = Buffer.concat([Buffer.from(header), id]);
  const connect = Buffer.concat([Buffer.from([0x10, body.length]), body]);
  const answer = await exchange(host, port, connect, (got) => got.length >= 4);
  return answer[0] === 0x20;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Starts Mosquitto with the project's config (deploy/mosquitto/mosquitto.conf) on a free
 * port; url `mqtt://127.0.0.1:PORT`. With the bridge (the default) it resolves only once the
 * bridge has connected, so a device's first command is already bridged.
 */
export async function startMosquitto(opts: MosquittoOptions = {}): Promise<ServerHandle> {
  const deployed = await fsp.readFile(MOSQUITTO_CONF, 'utf8');
  let bridgeId: string | undefined;
  return startServer({
    name: 'mosquitto',
    scheme: 'mqtt',
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    async prepare({ port, dir }) {
      const config = renderMosquittoConfig(deployed, { ...opts, port, dir });
      bridgeId = opts.bridge === false ? undefined : bridgeClientId(config);
      const file = path.join(dir, 'mosquitto.conf');
      await fsp.writeFile(file, config);
      return { command: MOSQUITTO_BIN, args: ['-c', file] };
    },
    async ready(ctx: LaunchContext) {
      const log = await ctx.log();
      if (!/mosquitto version \S+ running/.test(log)) return false;
      if (bridgeId !== undefined) {
        const connected = new RegExp(
          `New client connected from \\S+ as ${escapeRegExp(bridgeId)} `,
        );
        if (!connected.test(log)) return false;
      }
      return mqttAnswers(ctx.host, ctx.port);
    },
  });
}

/**
 * One line of a Mosquitto 2 password file (`user:$7$…`, PBKDF2-SHA512 as mosquitto_passwd
 * writes it), so tests need not run mosquitto_passwd.
 */
export function mosquittoPasswordEntry(username: string, password: string): string {
  const iterations = 101;
  const salt = randomBytes(12);
  const hash = pbkdf2Sync(password, salt, iterations, 64, 'sha512');
  return `${username}:$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}
