import { readFileSync } from 'node:fs';
import mqtt, { type AckHandler, type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';

export interface ConnectMqttOptions {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  /**
   * false: a persistent session (MQTT 5 Clean Start 0) that the broker keeps for
   * `sessionExpirySeconds` after a disconnect, with its subscriptions and queued QoS 1 messages.
   */
  clean: boolean;
  /** MQTT 5 Session Expiry Interval; only meaningful with `clean: false`. */
  sessionExpirySeconds?: number;
  logger: Logger;
  /** Manual acks: the PUBACK is sent when the handler calls its callback. */
  customHandleAcks?: AckHandler;
  /**
   * Called with the client before it connects: a resumed session may deliver messages before
   * this function resolves, and their handler may need the client.
   */
  onCreated?: (client: MqttClient) => void;
  /** 5 (default) or 4 (MQTT 3.1.1, for tests that play an old device). */
  protocolVersion?: 4 | 5;
  /** Give up on the FIRST connection after this long (later ones are retried forever). */
  initialConnectTimeoutMs?: number;
  /** Reconnect back-off: starts at `minMs`, doubles per failed attempt up to `maxMs`. */
  reconnect?: { minMs: number; maxMs: number };
  /**
   * PEM files for `mqtts://` / `wss://` (empty or absent: none): `ca` is trusted instead of
   * the system's roots, `cert` + `key` are presented as the client certificate. The broker's
   * certificate is always verified; there is deliberately no way to skip that.
   */
  tls?: MqttTlsFiles;
}

/** Paths of PEM files; read once per connectMqtt call (a rotated file takes a restart). */
export interface MqttTlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

/** The TLS options of a client for `files` (contents, not paths); verification stays on. */
export function mqttTlsOptions(files: MqttTlsFiles | undefined): Partial<IClientOptions> {
  const read = (what: string, file: string | undefined): Buffer | undefined => {
    if (!file) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`cannot read the MQTT TLS ${what} file ${file}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  };
  const ca = read('CA', files?.ca);
  const cert = read('certificate', files?.cert);
  const key = read('key', files?.key);
  if ((cert === undefined) !== (key === undefined)) {
    throw new Error('an MQTT client certificate needs both a certificate and a key file');
  }
  return {
    rejectUnauthorized: true,
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
  };
}

const DEFAULT_RECONNECT = { minMs: 250, maxMs: 10_000 };

/**
 * A connected MQTT client that reconnects with back-off for as long as it lives and logs
 * every state change. Later disconnects never throw: an MqttClient without an `error`
 * listener would crash the process on the first broker hiccup.
 */
export async function connectMqtt(options: ConnectMqttOptions): Promise<MqttClient> {
  const backoff = options.reconnect ?? DEFAULT_RECONNECT;
  const logger = options.logger.child({ mqttClientId: options.clientId });
  const protocolVersion = options.protocolVersion ?? 5;
  const clientOptions: IClientOptions = {
    clientId: options.clientId,
    protocolVersion,
    clean: options.clean,
    reconnectPeriod: backoff.minMs,
    // A refused CONNECT (credentials being rotated, a broker still starting) is retried too.
    reconnectOnConnackError: true,
    connectTimeout: 10_000,
    keepalive: 30,
    resubscribe: true,
    ...mqttTlsOptions(options.tls),
  };
  if (options.username) clientOptions.username = options.username;
  if (options.password) clientOptions.password = options.password;
  if (options.customHandleAcks) clientOptions.customHandleAcks = options.customHandleAcks;
  if (protocolVersion === 5 && options.sessionExpirySeconds !== undefined) {
    clientOptions.properties = { sessionExpiryInterval: options.sessionExpirySeconds };
  }
  const client = mqtt.connect(options.url, clientOptions);
  options.onCreated?.(client);
  observe(client, logger, backoff);
  await firstConnection(client, options.initialConnectTimeoutMs ?? 30_000, options.url);
  return client;
}

function observe(client: MqttClient, logger: Logger, backoff: { minMs: number; maxMs: number }) {
  let attempts = 0;
  let wasConnected = false;
  client.on('connect', (connack) => {
    attempts = 0;
    wasConnected = true;
    client.options.reconnectPeriod = backoff.minMs;
    logger.info({ sessionPresent: connack.sessionPresent }, 'mqtt connected');
  });
  client.on('reconnect', () => {
    attempts += 1;
    // MQTT.js reads reconnectPeriod each time it schedules the next attempt.
    const next = Math.min(backoff.maxMs, backoff.minMs * 2 ** attempts);
    client.options.reconnectPeriod = Math.round(next * (0.8 + Math.random() * 0.4));
    logger.debug(
      { attempt: attempts, nextDelayMs: client.options.reconnectPeriod },
      'mqtt reconnecting',
    );
  });
  client.on('close', () => {
    // Only the transition is worth a line; a broker that stays down would flood the log.
    if (wasConnected && client.disconnecting) logger.info('mqtt connection closed');
    else if (wasConnected) logger.warn('mqtt connection lost');
    wasConnected = false;
  });
  client.on('offline', () => logger.debug('mqtt offline'));
  client.on('disconnect', (packet) => {
    logger.warn({ reasonCode: packet.reasonCode }, 'mqtt broker sent DISCONNECT');
  });
  client.on('error', (err) => {
    logger.warn({ err, attempt: attempts }, 'mqtt error');
  });
  client.on('end', () => logger.info('mqtt client ended'));
}

function firstConnection(client: MqttClient, timeoutMs: number, url: string): Promise<void> {
  if (client.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('connect', onConnect);
      client.end(true);
      reject(new Error(`no MQTT connection to ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onConnect = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('connect', onConnect);
  });
}

/**
 * Closes a client: DISCONNECT (the broker keeps a persistent session), then the socket.
 * MQTT.js waits for every outgoing QoS 1 publish to be acked first; a PUBACK that queues
 * behind an incoming message nobody will ack never arrives, so after `timeoutMs` the socket
 * is simply destroyed (the broker then keeps the session all the same).
 */
export function endMqtt(client: MqttClient, timeoutMs = 5_000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.stream?.destroy();
      resolve();
    }, timeoutMs);
    client.end(false, {}, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
